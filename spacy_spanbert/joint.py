"""Sentence labels and spans on one encoder: what only the joint setup needs.

- :func:`initialize_doc_cats`: a span model that reads ``doc.cats`` (``SpanBoundaryModel.v2``
  with ``use_doc_cats``) takes its cat labels from the gold data, and the pipeline is checked
  so that the cats it reads in training are the predicted ones it reads at inference.
- ``spacy_spanbert.sentence_and_spans_scorer.v1``: the text classifier's scores (spaCy's
  ``cats_*``) plus ``intent_acc`` and ``sentence_acc``, as the joint intent + slot
  literature reports them.
"""

import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from spacy.language import Language
from spacy.pipeline.textcat_multilabel import textcat_multilabel_score
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Model


def initialize_doc_cats(
    layer: Model, examples: Iterable[Example], *, nlp: Optional[Language], reader: str
) -> None:
    """Set ``layer``'s cat labels (``attrs["labels"]``) from the examples' gold cats, and warn
    where ``reader`` (the span component that owns ``layer``) would train on other cats than
    it sees at inference: no gold cats, no component before it that writes cats, or that
    component (or the transformer before it) not annotating during training. A listener
    outside training reads the encoder's output from the doc, which only an annotating
    transformer sets."""
    labels: Set[str] = set()
    for eg in examples:
        labels.update(eg.reference.cats)
    layer.attrs["labels"] = sorted(labels)
    if not labels:
        warnings.warn(
            f"[{reader}] the model reads doc.cats (use_doc_cats), but the training data has "
            "none: it gets no sentence labels to read.",
            stacklevel=3,
        )
    if nlp is None or reader not in nlp.pipe_names:
        return
    earlier = nlp.pipe_names[: nlp.pipe_names.index(reader)]
    writers = [name for name in earlier if "doc.cats" in nlp.get_pipe_meta(name).assigns]
    annotating = set(nlp.config["training"]["annotating_components"])
    if not writers:
        warnings.warn(
            f"[{reader}] the model reads doc.cats (use_doc_cats), but no component before it "
            "in the pipeline writes them: put the text classifier first.",
            stacklevel=3,
        )
        return
    encoders = [name for name in earlier if nlp.get_pipe_meta(name).factory == "transformer"]
    missing = [name for name in writers[-1:] + encoders if name not in annotating]
    if missing:
        warnings.warn(
            f"[{reader}] the model reads doc.cats (use_doc_cats): list {', '.join(missing)} "
            f"in [training] annotating_components, so that {writers[-1]} writes them during "
            "training from the encoder's output, or the span head trains on other cats than "
            "it reads at inference.",
            stacklevel=3,
        )


def score_sentence_and_spans(
    examples: List[Example], *, spans_key: str, threshold: float = 0.5
) -> Dict[str, float]:
    """``intent_acc``: share of docs whose predicted label set (cats >= threshold, else the
    top cat) equals the gold set. ``sentence_acc``: share with the labels right *and* every
    span right (exact boundaries and label, nothing extra)."""
    if not examples:
        return {"intent_acc": 0.0, "sentence_acc": 0.0}
    labels_right = 0
    all_right = 0
    for eg in examples:
        ok = predicted_labels(eg.predicted.cats, threshold) == gold_labels(eg.reference.cats)
        labels_right += ok
        all_right += ok and _span_set(eg.predicted, spans_key) == _span_set(eg.reference, spans_key)
    return {"intent_acc": labels_right / len(examples), "sentence_acc": all_right / len(examples)}


def predicted_labels(cats: Dict[str, float], threshold: float = 0.5) -> Set[str]:
    """Labels scoring at least ``threshold``; the top label when none does."""
    chosen = {label for label, score in cats.items() if score >= threshold}
    if not chosen and cats:
        chosen = {max(cats, key=lambda label: cats[label])}
    return chosen


def gold_labels(cats: Dict[str, float]) -> Set[str]:
    return {label for label, value in cats.items() if value >= 0.5}


def _span_set(doc: Doc, spans_key: str) -> Set[Tuple[int, int, str]]:
    spans = doc.spans[spans_key] if spans_key in doc.spans else doc.ents
    return {(span.start_char, span.end_char, span.label_) for span in spans}


@registry.scorers("spacy_spanbert.sentence_and_spans_scorer.v1")
def make_sentence_and_spans_scorer(spans_key: str = "sc") -> Callable[..., Dict[str, Any]]:
    """For ``spanbert_textcat`` beside a span head: spaCy's multi-label ``cats_*`` scores,
    ``intent_acc`` and ``sentence_acc`` (spans read from ``doc.spans[spans_key]``)."""

    def score(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        examples = list(examples)
        scores: Dict[str, Any] = dict(textcat_multilabel_score(examples, **kwargs))
        scores.update(score_sentence_and_spans(examples, spans_key=spans_key))
        return scores

    return score
