"""Scoring a pipeline on gold data with every scorer it has, for ``python -m spacy_spanbert
evaluate``: optionally over given entities, with a table per ``*_per_type`` score."""

from typing import Any, Dict, Iterable, List, Optional

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from wasabi import msg

from .given_entities import with_given_entities


def evaluation_examples(
    nlp: Language,
    gold_docs: Iterable[Doc],
    *,
    given_entities: bool = False,
    spans_key: Optional[str] = None,
) -> List[Example]:
    """Examples whose predicted docs have the gold docs' words (and, with ``given_entities``,
    their entities: ``doc.ents``, or ``doc.spans[spans_key]``)."""
    examples = []
    for gold in gold_docs:
        words = [t.text for t in gold]
        spaces = [bool(t.whitespace_) for t in gold]
        example = Example(Doc(nlp.vocab, words=words, spaces=spaces), gold)
        examples.append(with_given_entities(example, spans_key) if given_entities else example)
    return examples


def print_scores(scores: Dict[str, Any]) -> None:
    """Every scalar score in one table, then a P/R/F table per ``*_per_type`` score."""
    scalars = [
        (name, f"{value:.4f}" if abs(value) <= 1 else f"{value:,.0f}")
        for name, value in sorted(scores.items())
        if isinstance(value, (int, float))
    ]
    msg.table(scalars, header=("score", "value"), divider=True)
    for name, per_label in sorted(scores.items()):
        if not name.endswith("_per_type") or not isinstance(per_label, dict):
            continue
        rows = [
            (label, *(f"{prf.get(k, 0.0):.4f}" for k in ("p", "r", "f")))
            for label, prf in sorted(per_label.items())
            if isinstance(prf, dict)
        ]
        if rows:
            msg.table(rows, header=(name, "P", "R", "F"), divider=True)
