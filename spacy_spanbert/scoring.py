"""Scorers registered for `spacy evaluate` and training, in spaCy's naming conventions."""

from typing import Any, Callable, Dict, Iterable, Tuple

from spacy.scorer import PRFScore, Scorer, get_ner_prf
from spacy.training import Example
from spacy.util import registry

from .joint import score_sentence_and_spans
from .relations import Relation, get_relations


def score_span_ner(examples: Iterable[Example], *, spans_key: str, **kwargs: Any) -> Dict[str, Any]:
    """Flat entity scores (``ents_p/r/f``, ``ents_per_type``) and nested span scores
    (``spans_<key>_p/r/f``, ``spans_<key>_per_type``; only over gold docs that have the key)."""
    examples = list(examples)
    scores: Dict[str, Any] = get_ner_prf(examples)
    scores.update(
        Scorer.score_spans(
            examples,
            attr=f"spans_{spans_key}",
            getter=lambda doc, _: doc.spans.get(spans_key, []),
            has_annotation=lambda doc: spans_key in doc.spans,
            allow_overlap=True,
        )
    )
    return scores


@registry.scorers("spacy_spanbert.span_ner_scorer.v2")
def make_span_ner_scorer_v2() -> Callable[..., Dict[str, Any]]:
    """``spanbert_ner``'s scores: see :func:`score_span_ner`."""
    return score_span_ner


@registry.scorers("spacy_spanbert.span_ner_scorer.v1")
def make_span_ner_scorer() -> Callable[..., Dict[str, Any]]:
    """v2's scores, plus ``intent_acc`` and ``sentence_acc`` when the gold and predicted docs
    carry cats. New configs put those on the text classifier
    (``spacy_spanbert.sentence_and_spans_scorer.v1``)."""

    def score(examples: Iterable[Example], *, spans_key: str, **kwargs: Any) -> Dict[str, Any]:
        examples = list(examples)
        scores = score_span_ner(examples, spans_key=spans_key)
        if any(eg.reference.cats for eg in examples) and any(eg.predicted.cats for eg in examples):
            scores.update(score_sentence_and_spans(examples, spans_key=spans_key))
        return scores

    return score


def score_relations(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """Strict relation scores: a predicted relation counts only with exact head and tail
    boundaries, both entity types and the relation label.

    ``rel_micro_p/r/f``: over every relation. With "no relation" never predicted as a label,
    this is TACRED's official micro-F1 (``no_relation`` excluded).
    ``rel_macro_p/r/f``: the means over the labels of each label's P, R and F. A label's
    precision counts its predictions in either direction and its recall its gold relations in
    either direction, and only the right direction is correct: with SemEval-2010 Task 8's
    ``Other`` read as no relation, ``rel_macro_f`` is that task's official score ((9+1)-way,
    directionality taken into account, ``Other`` excluded).
    ``rel_per_type``: P/R/F per label."""
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
    n_labels = max(len(per_label), 1)
    return {
        "rel_micro_p": micro.precision,
        "rel_micro_r": micro.recall,
        "rel_micro_f": micro.fscore,
        "rel_macro_p": sum(prf.precision for prf in per_label.values()) / n_labels,
        "rel_macro_r": sum(prf.recall for prf in per_label.values()) / n_labels,
        "rel_macro_f": sum(prf.fscore for prf in per_label.values()) / n_labels,
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
