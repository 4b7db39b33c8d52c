"""The one Doc layout every span reader writes, and what the writers read back from a Doc.

Every span goes into ``doc.spans[spans_key]`` (each (start, end, label) once, in
(start, end, label) order, whatever order the file had), the outermost
non-overlapping ones (``spacy.util.filter_spans``) also into ``doc.ents``, and relations into
``doc._.relations``. Spans left out of ``doc.ents`` and relations farther apart than
spanbert_rel's default ``max_distance`` are counted in the summary.
"""

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..relations import Relation, get_relations, set_relations
from .summary import FAR_TOKENS, CorpusSummary

SpanKey = Tuple[int, int, str]


def set_layout(
    doc: Doc,
    spans: Iterable[Span],
    relations: Sequence[Relation] = (),
    *,
    spans_key: str,
    summary: CorpusSummary,
) -> None:
    """Write ``spans`` and ``relations`` onto ``doc`` in the one layout, and count them."""
    by_key = {span_key(span): span for span in spans}
    unique = [by_key[key] for key in sorted(by_key)]
    doc.spans[spans_key] = unique
    doc.ents = filter_spans(unique)
    summary.not_in_ents += len(unique) - len(doc.ents)
    set_relations(doc, relations)
    summary.relations.update(rel.label for rel in relations)
    summary.far_relations += sum(token_gap(rel.head, rel.tail) > FAR_TOKENS for rel in relations)
    summary.count_doc(doc, spans_key=spans_key)


def token_gap(head: Span, tail: Span) -> int:
    """Tokens between two spans (0 when they touch or overlap), as spanbert_rel counts them."""
    return max(tail.start - head.end, head.start - tail.end, 0)


def span_key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label_)


def doc_spans(doc: Doc, spans_key: str) -> List[Tuple[Span, Optional[float]]]:
    """Every span of ``doc`` with its score (None where it has none): ``doc.spans[spans_key]``
    and ``doc.ents`` together, each (start, end, label) once, in document order, and every
    relation argument among them."""
    scores: Dict[SpanKey, Optional[float]] = {}
    if spans_key in doc.spans:
        group = doc.spans[spans_key]
        group_scores = group.attrs.get("scores")
        for i, span in enumerate(group):
            scores[span_key(span)] = float(group_scores[i]) if group_scores is not None else None
    spans = {span_key(span): span for span in doc.spans.get(spans_key, [])}
    for ent in doc.ents:
        spans.setdefault(span_key(ent), ent)
    for rel in get_relations(doc):
        for arg in (rel.head, rel.tail):
            spans.setdefault(span_key(arg), arg)
    return [(spans[key], scores.get(key)) for key in sorted(spans)]
