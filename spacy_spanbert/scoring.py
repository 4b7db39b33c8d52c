"""Scorers registered for `spacy evaluate` and training, in spaCy's naming conventions."""

from typing import Any, Callable, Dict, Iterable

from spacy.scorer import Scorer, get_ner_prf
from spacy.training import Example
from spacy.util import registry


def score_span_ner(examples: Iterable[Example], *, spans_key: str, **kwargs: Any) -> Dict[str, Any]:
    """Flat entity scores (``ents_p/r/f``, ``ents_per_type``) and nested span scores
    (``spans_<key>_p/r/f``, ``spans_<key>_per_type``; only over gold docs that have the key)."""
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
    return scores


@registry.scorers("spacy_spanbert.span_ner_scorer.v1")
def make_span_ner_scorer() -> Callable[..., Dict[str, Any]]:
    return score_span_ner
