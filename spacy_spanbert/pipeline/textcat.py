"""``spanbert_textcat``: spaCy's multi-label text classifier (``doc.cats``) as a head on the
shared encoder, trained beside the span heads.

Everything but the loss, the output layer's start and the update is spaCy's
``textcat_multilabel``: pooling comes from spaCy's text classification architectures
(``spacy.TextCatReduce.v1``: first token, mean, max, last;
``spacy.TextCatParametricAttention.v1``: attention pooling), ``exclusive_classes`` picks a
softmax or independent sigmoids, and the scores are spaCy's ``cats_*``.
"""

from typing import Any, Callable, Dict, Iterable, Optional, Tuple, cast

import numpy
from spacy.language import Language
from spacy.pipeline.textcat_multilabel import (
    MultiLabel_TextCategorizer,
    textcat_multilabel_score,
)
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, get_array_module
from thinc.types import Floats2d

from .head import SHARED_ENCODER_LISTENER
from .learn_rate import finish_update_scaled

default_model_config = (
    """
[model]
@architectures = "spacy.TextCatReduce.v1"
exclusive_classes = false
use_reduce_first = true
use_reduce_last = false
use_reduce_max = false
use_reduce_mean = true
"""
    + SHARED_ENCODER_LISTENER
)
DEFAULT_SENTENCE_MODEL = Config().from_str(default_model_config)["model"]
# the smallest sigmoid slope divided out of a multi-label gradient (a saturated score's
# gradient shrinks below cross-entropy's instead of overflowing)
MIN_SLOPE = 1e-6


@Language.factory(
    "spanbert_textcat",
    assigns=["doc.cats"],
    default_config={
        "model": DEFAULT_SENTENCE_MODEL,
        "threshold": 0.5,
        "learn_rate_scale": 10.0,
        "scorer": {"@scorers": "spacy.textcat_multilabel_scorer.v2"},
    },
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_f_per_type": None,
    },
)
def make_spanbert_textcat(
    nlp: Language,
    name: str,
    model: Model,
    threshold: float,
    learn_rate_scale: float,
    scorer: Optional[Callable],
) -> "SpanBertTextCategorizer":
    """Create a ``spanbert_textcat`` component.

    model: spaCy text classification model (its tok2vec a listener to the shared encoder).
    threshold: minimum score for a label to count as predicted (scoring only).
    learn_rate_scale: multiplies the learning rate for this component's own weights.
    scorer: the scoring function (spaCy's ``cats_*``).
    """
    return SpanBertTextCategorizer(
        nlp.vocab,
        model,
        name,
        threshold=threshold,
        learn_rate_scale=learn_rate_scale,
        scorer=scorer,
    )


class SpanBertTextCategorizer(MultiLabel_TextCategorizer):
    """spaCy's ``textcat_multilabel`` with four changes for sharing an encoder with span heads.

    - ``learn_rate_scale``: its own weights update at a multiple of the encoder's rate, like
      the span heads', so a fresh classifier keeps up within a short fine-tuning.
    - The output layer starts at zero, so the head sends no gradient into the shared encoder
      before it has learned anything (a random layer sends a large, label-independent one,
      which Adam's moment estimates of the encoder then carry for many steps).
    - The gradient is the mean over the batch's docs (spaCy's is a sum), as the span heads
      average over their candidates; loss weights between heads then mean the same at any
      batch size.
    - With sigmoids the loss is binary cross-entropy (see ``get_loss``), not spaCy's squared
      error through the sigmoid, which hardly moves a label scored near 0.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "spanbert_textcat",
        *,
        threshold: float = 0.5,
        learn_rate_scale: float = 10.0,
        scorer: Optional[Callable[..., Any]] = textcat_multilabel_score,
    ) -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        self.cfg["learn_rate_scale"] = learn_rate_scale

    def initialize(  # type: ignore[override]
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
    ) -> None:
        """spaCy's initialization, then the output layer's weights set to zero (for models
        that name it ``output_layer``, as spaCy's text classification architectures do)."""
        super().initialize(get_examples, nlp=nlp, labels=labels)
        if not self.model.has_ref("output_layer"):
            return
        for layer in self.model.get_ref("output_layer").walk():
            if layer.has_param("W"):
                layer.set_param("W", layer.ops.alloc(layer.get_param("W").shape))

    def update(  # type: ignore[override]
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """spaCy's update, after adding the labels the gold cats use and this component lacks
        (a label new to a trained component, through the data: the output layer grows)."""
        examples = list(examples)
        for label in sorted(
            {cat for eg in examples for cat in eg.reference.cats} - set(self.labels)
        ):
            self.add_label(label)
        return super().update(examples, drop=drop, sgd=sgd, losses=losses)

    # spaCy annotates the gradient as a float; it is the (docs, labels) array
    def get_loss(  # type: ignore[override]
        self, examples: Iterable[Example], scores: Floats2d
    ) -> Tuple[float, Floats2d]:
        """Cross-entropy, as a mean over the batch's docs (spaCy's is a sum).

        With a softmax output that is spaCy's gradient (scores - truths). With sigmoids, spaCy's
        output layer (thinc's ``Logistic``) multiplies the gradient by ``Y(1 - Y)`` on the way
        back, which makes the loss squared error through the sigmoid: a label the model scores
        near 0 gets almost no gradient, and rare labels are barely learned. Dividing by that
        factor here leaves ``Y - T`` at the logits: binary cross-entropy.
        """
        loss, d_scores = super().get_loss(examples, scores)
        n_docs = max(scores.shape[0], 1)
        if self.model.name.rsplit(">>", 1)[-1] == "logistic":
            truths, not_missing = self._examples_to_truth(examples)
            loss = binary_cross_entropy(scores, truths, not_missing) / n_docs
            xp = self.model.ops.xp
            d_scores = cast(Floats2d, d_scores) / xp.maximum(scores * (1 - scores), MIN_SLOPE)
        return loss, cast(Floats2d, d_scores) / n_docs

    def finish_update(self, sgd: Optimizer) -> None:
        """Update this component's weights, at ``learn_rate_scale`` times the base rate."""
        finish_update_scaled(self.model, sgd, float(self.cfg["learn_rate_scale"]))


def binary_cross_entropy(
    scores: Floats2d, truths: numpy.ndarray, not_missing: numpy.ndarray
) -> float:
    """Summed binary cross-entropy of sigmoid ``scores`` over the labels that are not missing."""
    xp = get_array_module(scores)
    scores = xp.clip(scores, 1e-7, 1 - 1e-7)
    truths = xp.asarray(truths)
    losses = -(truths * xp.log(scores) + (1 - truths) * xp.log(1 - scores))
    return float((losses * xp.asarray(not_missing)).sum())
