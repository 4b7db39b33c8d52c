"""Scorers registered for `spacy evaluate` and training, in spaCy's naming conventions."""

from typing import Any, Callable, Dict, Iterable, List, Set, Tuple

from spacy.scorer import PRFScore, Scorer, get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from .relations import Relation, get_relations


def score_span_ner(examples: Iterable[Example], *, spans_key: str, **kwargs: Any) -> Dict[str, Any]:
    """Flat entity scores (``ents_p/r/f``, ``ents_per_type``) and nested span scores
    (``spans_<key>_p/r/f``, ``spans_<key>_per_type``; only over gold docs that have the key).

    When the gold docs carry ``cats`` and the pipeline predicts them (a sentence-level head
    beside this component), also ``intent_acc`` and ``sentence_acc`` (see
    :func:`score_sentence_and_spans`).
    """
    examples = list(examples)
    scores: Dict[str, Any] = get_ner_prf(examples)
    attr = f"spans_{spans_key}"
    scores.update(
        Scorer.score_spans(
            examples,
            attr=attr,
            getter=lambda doc, _: doc.spans.get(spans_key, []),
            has_annotation=lambda doc: spans_key in doc.spans,
            allow_overlap=True,
        )
    )
    if any(eg.reference.cats for eg in examples) and any(eg.predicted.cats for eg in examples):
        scores.update(score_sentence_and_spans(examples, spans_key=spans_key))
    return scores


def score_sentence_and_spans(
    examples: List[Example], *, spans_key: str, threshold: float = 0.5
) -> Dict[str, float]:
    """``intent_acc``: share of docs whose predicted label set (cats >= threshold, else the
    top cat) equals the gold set. ``sentence_acc``: share with the labels right *and* every
    span right (exact boundaries and label, nothing extra), as the joint intent-slot
    literature reports it."""
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


@registry.scorers("spacy_spanbert.span_ner_scorer.v1")
def make_span_ner_scorer() -> Callable[..., Dict[str, Any]]:
    return score_span_ner


def score_relations(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """Strict relation scores: a predicted relation counts only with exact head and tail
    boundaries, both entity types and the relation label. Micro P/R/F (``rel_micro_*``)
    and per label (``rel_per_type``)."""
    micro = PRFScore()
    per_label: Dict[str, PRFScore] = {}
    for eg in examples:
        gold = {_relation_key(rel) for rel in get_relations(eg.reference)}
        predicted = {_relation_key(rel) for rel in get_relations(eg.predicted)}
        for key in gold | predicted:
            score = per_label.setdefault(key[-1], PRFScore())
            hit, in_gold = key in predicted and key in gold, key in gold
            for prf in (micro, score):
                if hit:
                    prf.tp += 1
                elif in_gold:
                    prf.fn += 1
                else:
                    prf.fp += 1
    return {
        "rel_micro_p": micro.precision,
        "rel_micro_r": micro.recall,
        "rel_micro_f": micro.fscore,
        "rel_per_type": {label: prf.to_dict() for label, prf in sorted(per_label.items())},
    }


def _relation_key(rel: Relation) -> Tuple[int, int, str, int, int, str, str]:
    head, tail = rel.head, rel.tail
    return (
        head.start_char,
        head.end_char,
        head.label_,
        tail.start_char,
        tail.end_char,
        tail.label_,
        rel.label,
    )


@registry.scorers("spacy_spanbert.relation_scorer.v1")
def make_relation_scorer() -> Callable[..., Dict[str, Any]]:
    return score_relations
