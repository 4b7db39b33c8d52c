"""Nested NER in JSON lines (GENIA as in ../shared/data/genia/jsonl) -> ``doc.spans[key]``.

One record per line: ``{"tokens": [...], "entity_mentions": [{"start", "end",
"entity_type"}, ...]}``, token offsets with ``end`` exclusive. Every mention goes into
``doc.spans[spans_key]``; the outermost non-overlapping ones (longest first) also go into
``doc.ents``, and the summary counts the mentions that could not (``not_in_ents``): the
layout of :mod:`spacy_spanbert.corpus.layout`.
"""

from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .char_offsets import as_offset
from .errors import CorpusError, read_json_lines
from .layout import set_layout
from .summary import CorpusSummary


def read_nested_json(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    spans_key: str = "sc",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a nested-NER JSON-lines file; one Doc per record."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    docs = []
    for line_no, record in read_json_lines(path):
        tokens, mentions = _parse_record(path, line_no, record)
        doc = Doc(vocab, words=tokens)
        spans = [Span(doc, start, end, label=label) for start, end, label in mentions]
        set_layout(doc, spans, spans_key=spans_key, summary=summary)
        docs.append(doc)
    return docs


def _parse_record(
    path: Path, line_no: int, record: Any
) -> Tuple[List[str], List[Tuple[int, int, str]]]:
    tokens = record.get("tokens") if isinstance(record, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise CorpusError(path, line_no, '"tokens": a list of non-empty strings', str(record)[:60])
    mentions = []
    for i, mention in enumerate(record.get("entity_mentions", [])):
        try:
            start, end, label = (
                as_offset(mention["start"]),
                as_offset(mention["end"]),
                str(mention["entity_type"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CorpusError(
                path, line_no, f'mention {i} with "start", "end" and "entity_type"', str(mention)
            ) from err
        if not 0 <= start < end <= len(tokens):
            raise CorpusError(
                path,
                line_no,
                f"mention {i} within the sentence's {len(tokens)} tokens (0 <= start < end)",
                f"start={start}, end={end}",
            )
        mentions.append((start, end, label))
    return tokens, mentions
