"""What the span and relation heads share: a label set in ``cfg["labels"]`` and updates of
their own weights at ``cfg["learn_rate_scale"]`` times the optimizer's rate."""

from typing import List, Tuple

from spacy.pipeline import TrainablePipe
from thinc.api import Optimizer

from .learn_rate import finish_update_scaled

# Every head's default tok2vec: a listener to the shared `transformer` component, one vector
# per token (the mean of its wordpieces). Appended to each head's default model config.
SHARED_ENCODER_LISTENER = """[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""


class LabelledHead(TrainablePipe):
    """A TrainablePipe head on a shared encoder, with validated string labels."""

    @property
    def labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    def add_label(self, label: str) -> int:
        """Add a label; return 0 if it was already there, else 1."""
        if not isinstance(label, str) or not label or label != "".join(label.split()):
            raise ValueError(
                f"[{self.name}] invalid label {label!r}: labels must be non-empty strings "
                "without whitespace."
            )
        if label in self.labels:
            return 0
        self._allow_extra_label()
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    def finish_update(self, sgd: Optimizer) -> None:
        """Update this component's weights, at ``learn_rate_scale`` times the base rate."""
        finish_update_scaled(self.model, sgd, float(self.cfg["learn_rate_scale"]))
