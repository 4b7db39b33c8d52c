"""What the span and relation heads share: a label set in ``cfg["labels"]``, one training
step over candidates, an output bias set from the label prior, and updates of their own
weights at ``cfg["learn_rate_scale"]`` times the optimizer's rate."""

from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from thinc.api import Optimizer, set_dropout_rate
from thinc.types import Floats2d

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
    """A TrainablePipe head on a shared encoder, with validated string labels.

    A subclass scores candidates (spans, pairs of spans) of each doc: it defines
    ``training_candidates`` (the candidates of a batch of examples), ``model_input``
    (what its model reads for those candidates) and ``get_loss``.
    """

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

    def training_candidates(self, examples: List[Example]) -> Any:
        """The candidates of each example's predicted doc that the loss is taken over."""
        raise NotImplementedError

    def model_input(self, docs: List[Doc], candidates: Any) -> Optional[Tuple[List[Doc], Any]]:
        """The model's input for ``candidates`` of ``docs``; None when there are none."""
        raise NotImplementedError

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples; returns the updated losses."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        candidates = self.training_candidates(examples)
        X = self.model_input([eg.predicted for eg in examples], candidates)
        if X is None:
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop_scores = self.model.begin_update(X)
        loss, d_scores = self.get_loss(examples, (candidates, scores))
        backprop_scores(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(
        self, examples: Iterable[Example], candidates_scores: Any
    ) -> Tuple[float, Floats2d]:
        raise NotImplementedError

    def set_output_bias(self, bias: numpy.ndarray) -> None:
        """Set the bias of the model's ``output_layer`` (one value per output column)."""
        output_layer = self.model.get_ref("output_layer")
        output_layer.set_param("b", output_layer.ops.asarray1f(bias.astype("f")))

    def finish_update(self, sgd: Optimizer) -> None:
        """Update this component's weights, at ``learn_rate_scale`` times the base rate."""
        finish_update_scaled(self.model, sgd, float(self.cfg["learn_rate_scale"]))
