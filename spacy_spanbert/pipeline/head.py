"""What the span and relation heads share: a label set in ``cfg["labels"]`` that can grow
after training (the output layer is resized), one training step over candidates, an output
bias set from the label prior, and updates of their own weights at
``cfg["learn_rate_scale"]`` times the optimizer's rate."""

from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from thinc.api import Model, Optimizer, set_dropout_rate
from thinc.layers.resizable import resize_linear_weighted
from thinc.types import Floats2d

from ..confidence import label_thresholds
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
    (what its model reads for those candidates), ``get_loss``, ``gold_labels`` (the labels
    its gold data uses) and ``extra_outputs`` (output columns besides one per label).
    """

    extra_outputs = 0
    # what the component learns and saves in its cfg; every other cfg entry is a setting of
    # the pipeline's config (the one source of settings: loading keeps the config's values)
    learned_cfg: Tuple[str, ...] = ("labels",)

    @property
    def labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    def add_label(self, label: str) -> int:
        """Add a label; return 0 if it was already there, else 1. On a trained component the
        output layer grows by a row: the existing labels' weights are kept, and the new row
        starts with zero weights and the bias of the rarest existing label (its prior)."""
        if not isinstance(label, str) or not label or label != "".join(label.split()):
            raise ValueError(
                f"[{self.name}] invalid label {label!r}: labels must be non-empty strings "
                "without whitespace."
            )
        if label in self.labels:
            return 0
        output_layer = self._resizable_output_layer()
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        self._resize_output(output_layer)
        return 1

    def from_disk(self, path: Any, *, exclude: Iterable[str] = tuple()) -> "LabelledHead":
        settings = self._config_settings()
        super().from_disk(path, exclude=exclude)
        self.cfg.update(settings)
        return self

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "LabelledHead":
        settings = self._config_settings()
        super().from_bytes(bytes_data, exclude=exclude)
        self.cfg.update(settings)
        return self

    def _config_settings(self) -> Dict[str, Any]:
        return {k: v for k, v in self.cfg.items() if k not in self.learned_cfg}

    def label_thresholds(self) -> numpy.ndarray:
        """(n_labels,) each label's threshold: ``thresholds[label]``, else ``threshold``."""
        return label_thresholds(self.labels, self.cfg["thresholds"], float(self.cfg["threshold"]))

    def gold_labels(self, examples: List[Example]) -> Iterable[str]:
        """The labels the examples' gold annotations use."""
        raise NotImplementedError

    def _resizable_output_layer(self) -> Model:
        old = self.model.maybe_get_ref("output_layer")
        if old is None or set(old.param_names) != {"W", "b"} or old.layers or old.ref_names:
            raise ValueError(
                f"[{self.name}] can't add a label to this model: its output layer can't be "
                "resized (it needs an 'output_layer' ref with parameters W and b only)."
            )
        return old

    def _resize_output(self, old: Model) -> None:
        """Grow a trained output layer ``old`` to one column per label (plus
        ``extra_outputs``)."""
        if old.has_param("W") is not True:  # not initialized: initialize sizes it
            return
        bias = old.get_param("b")
        known = bias[self.extra_outputs :]
        fill = float(known.min()) if len(known) else 0.0
        new_nO = len(self.labels) + self.extra_outputs
        new = resize_linear_weighted(old, new_nO, fill_defaults={"b": fill})
        _replace_layer(self.model, old, new)
        if self.model.has_dim("nO"):
            self.model.set_dim("nO", new_nO, force=True)

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
        for label in sorted(set(self.gold_labels(examples)) - set(self.labels)):
            self.add_label(label)  # a label new to a trained component, through the data
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


def _replace_layer(model: Model, old: Model, new: Model) -> None:
    """Put ``new`` wherever ``old`` is in ``model``'s tree: as a sublayer and as a ref."""
    for node in list(model.walk()):
        node.layers[:] = [new if layer is old else layer for layer in node.layers]
        for name in node.ref_names:
            if node.maybe_get_ref(name) is old:
                node.set_ref(name, new)
