"""Entities + relations in JSON (CoNLL04 as unified by two-are-better-than-one) -> Docs.

The file is one JSON list of ``{"tokens": [...], "entities": [[start, end, type], ...],
"relations": [[h_start, h_end, t_start, t_end, type], ...]}`` (``end`` exclusive).
Entities go into ``doc.ents`` (and ``doc.spans[spans_key]``), relations into
``doc._.relations`` (see :mod:`spacy_spanbert.relations`). Errors name the record index.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import Relation, set_relations
from .errors import CorpusError
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
    try:
        records = json.loads(path.read_text(encoding="utf8"))
    except UnicodeDecodeError as err:
        raise CorpusError(path, 1, "UTF-8 text", f"byte at offset {err.start}") from err
    except json.JSONDecodeError as err:
        raise CorpusError(path, err.lineno, f"a JSON list of records ({err.msg})") from err
    if not isinstance(records, list):
        raise CorpusError(path, 1, "a JSON list of records", type(records).__name__)
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
    where = f"record {index}"
    tokens = record.get("tokens") if isinstance(record, dict) else None
    if (
        not isinstance(tokens, list)
        or not tokens
        or not all(isinstance(t, str) and t for t in tokens)
    ):
        raise CorpusError(path, index, f'{where}: "tokens", a list of non-empty strings')
    doc = Doc(vocab, words=tokens)
    entities: Dict[tuple, Span] = {}
    for start, end, label in record.get("entities", []):
        if not 0 <= start < end <= len(tokens):
            raise CorpusError(
                path,
                index,
                f"{where}: entity offsets within its {len(tokens)} tokens",
                f"[{start}, {end}, {label}]",
            )
        entities[(start, end)] = Span(doc, start, end, label=label)
    doc.spans[spans_key] = list(entities.values())
    doc.ents = list(entities.values())
    relations = []
    for h_start, h_end, t_start, t_end, label in record.get("relations", []):
        head, tail = entities.get((h_start, h_end)), entities.get((t_start, t_end))
        if head is None or tail is None:
            missing = [h_start, h_end] if head is None else [t_start, t_end]
            raise CorpusError(
                path,
                index,
                f"{where}: relation '{label}' between annotated entities",
                f"no entity at tokens {missing}",
            )
        relations.append(Relation(head, label, tail))
    set_relations(doc, relations)
    summary.relations.update(rel.label for rel in relations)
    summary.count_doc(doc, spans_key=spans_key)
    return doc
