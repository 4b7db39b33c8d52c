"""Relations between entity spans, stored on the Doc in one serializable form.

``doc._.relations`` holds a list of plain dicts (so it survives DocBin with
``store_user_data=True``, ``to_bytes`` and multiprocessing)::

    {"head": [start, end, "ENT_LABEL"], "tail": [start, end, "ENT_LABEL"],
     "label": "Work_For", "score": 1.0}

Token offsets, ``end`` exclusive. Use :func:`get_relations` to iterate
``(head, label, tail, score)`` with ``head`` and ``tail`` as Spans.
"""

from typing import Any, Dict, Iterable, List, NamedTuple

from spacy.tokens import Doc, Span

if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=None)


class Relation(NamedTuple):
    head: Span
    label: str
    tail: Span
    score: float = 1.0


def set_relations(doc: Doc, relations: Iterable[Relation]) -> None:
    """Store relations on ``doc`` (replacing any there)."""
    doc._.relations = [_to_dict(rel) for rel in relations]


def get_relations(doc: Doc) -> List[Relation]:
    """The relations stored on ``doc``, with head and tail as Spans."""
    return [
        Relation(
            Span(doc, rel["head"][0], rel["head"][1], label=rel["head"][2]),
            rel["label"],
            Span(doc, rel["tail"][0], rel["tail"][1], label=rel["tail"][2]),
            float(rel["score"]),
        )
        for rel in doc._.relations or []
    ]


def _to_dict(rel: Relation) -> Dict[str, Any]:
    return {
        "head": [rel.head.start, rel.head.end, rel.head.label_],
        "tail": [rel.tail.start, rel.tail.end, rel.tail.label_],
        "label": rel.label,
        "score": float(rel.score),
    }
