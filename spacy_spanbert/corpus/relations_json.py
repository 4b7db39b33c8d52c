"""Entities + relations in JSON -> Docs, in either of the two common layouts.

The file is one JSON list of records, each ``{"tokens": [...], "entities": [...],
"relations": [...]}`` with token offsets, ``end`` exclusive:

- two-are-better-than-one (CoNLL04 as unified there): entities ``[start, end, type]``,
  relations ``[h_start, h_end, t_start, t_end, type]``;
- SpERT (CoNLL04, SciERC, ADE as SpERT ships them): entities ``{"type", "start", "end"}``,
  relations ``{"type", "head", "tail"}`` with head and tail indices into the entities.

Entities go into ``doc.spans[spans_key]``, the outermost non-overlapping ones also into
``doc.ents``, relations into ``doc._.relations`` (the layout of
:mod:`spacy_spanbert.corpus.layout`). Errors name the record.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import Relation
from .char_offsets import as_offset
from .errors import CorpusError, read_json_list
from .layout import set_layout
from .summary import CorpusSummary


def read_relations_json(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    spans_key: str = "sc",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a relation JSON file; one Doc per record."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    records = read_json_list(path)
    return [
        _make_doc(vocab, path, i, record, spans_key, summary) for i, record in enumerate(records)
    ]


def _make_doc(
    vocab: Vocab,
    path: Path,
    index: int,
    record: Dict[str, Any],
    spans_key: str,
    summary: CorpusSummary,
) -> Doc:
    tokens = record.get("tokens") if isinstance(record, dict) else None
    if (
        not isinstance(tokens, list)
        or not tokens
        or not all(isinstance(t, str) and t for t in tokens)
    ):
        raise CorpusError(path, 0, '"tokens", a list of non-empty strings', record=index)
    doc = Doc(vocab, words=tokens)
    spans = [
        _entity(path, index, i, entity, doc) for i, entity in enumerate(record.get("entities", []))
    ]
    by_offsets: Dict[Tuple[int, int], Span] = {}
    for span in spans:
        by_offsets.setdefault((span.start, span.end), span)
    relations = [
        _relation(path, index, i, relation, spans, by_offsets)
        for i, relation in enumerate(record.get("relations", []))
    ]
    set_layout(doc, spans, relations, spans_key=spans_key, summary=summary)
    return doc


def _entity(path: Path, index: int, i: int, entity: Any, doc: Doc) -> Span:
    """Entity ``i`` of a record: ``[start, end, type]`` or ``{"type", "start", "end"}``."""
    try:
        if isinstance(entity, dict):
            start, end, label = entity["start"], entity["end"], entity["type"]
        else:
            start, end, label = entity
        start, end, label = as_offset(start), as_offset(end), str(label)
    except (KeyError, TypeError, ValueError) as err:
        raise CorpusError(
            path,
            0,
            f'entity {i} as [start, end, type] or {{"type", "start", "end"}}',
            json.dumps(entity)[:80],
            record=index,
        ) from err
    if not 0 <= start < end <= len(doc):
        raise CorpusError(
            path,
            0,
            f"entity {i} within the record's {len(doc)} tokens (0 <= start < end)",
            f"start={start}, end={end}",
            record=index,
        )
    return Span(doc, start, end, label=label)


def _relation(
    path: Path,
    index: int,
    i: int,
    relation: Any,
    spans: List[Span],
    by_offsets: Dict[Tuple[int, int], Span],
) -> Relation:
    """Relation ``i``: ``[h_start, h_end, t_start, t_end, type]`` or ``{"type", "head",
    "tail"}`` (indices into the record's entities)."""
    expected = 'as [h_start, h_end, t_start, t_end, type] or {"type", "head", "tail"}'
    try:
        if isinstance(relation, dict):
            label = str(relation["type"])
            ends = [as_offset(relation["head"]), as_offset(relation["tail"])]
            found = [spans[e] if 0 <= e < len(spans) else None for e in ends]
            missing = [f"index {e}" for e, span in zip(ends, found) if span is None]
        else:
            h_start, h_end, t_start, t_end, label = relation
            keys = [(as_offset(h_start), as_offset(h_end)), (as_offset(t_start), as_offset(t_end))]
            found = [by_offsets.get(key) for key in keys]
            missing = [f"tokens {list(k)}" for k, span in zip(keys, found) if span is None]
    except (KeyError, TypeError, ValueError) as err:
        raise CorpusError(
            path, 0, f"relation {i} {expected}", json.dumps(relation)[:80], record=index
        ) from err
    head, tail = found
    if head is None or tail is None:
        raise CorpusError(
            path,
            0,
            f"relation {i} ({label}) between annotated entities",
            f"no entity at {missing[0]}",
            record=index,
        )
    return Relation(head, str(label), tail)
