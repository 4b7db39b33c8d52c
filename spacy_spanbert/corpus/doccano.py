"""doccano's JSON Lines in and out, in both of its shapes.

- ``label`` shape (sequence labelling): ``{"text", "label": [[start, end, "LABEL"], ...]}``;
  no relations.
- ``entities`` shape (relation projects): ``{"text", "entities": [{"id", "label",
  "start_offset", "end_offset"}], "relations": [{"id", "from_id", "to_id", "type"}]}``.

Offsets are characters; a relation goes from ``from_id`` (head) to ``to_id`` (tail). Document
labels of text classification projects (``"label": ["A", "B"]``) are skipped and counted.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span
from wasabi import msg

from ..relations import Relation, get_relations
from .char_offsets import OffsetError, as_offset, char_span
from .errors import CorpusError, read_json_lines
from .layout import doc_spans, set_layout, span_key
from .output import write_json_lines
from .summary import CorpusSummary

SHAPES = ("entities", "label")


def read_doccano(
    path: Union[str, Path],
    make_doc: Callable[[str], Doc],
    *,
    spans_key: str = "sc",
    alignment: str = "strict",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a doccano JSON Lines export; one Doc per line."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    return [
        _read_record(path, line_no, record, make_doc, spans_key, alignment, summary)
        for line_no, record in read_json_lines(path)
    ]


def _read_record(
    path: Path,
    line_no: int,
    record: Any,
    make_doc: Callable[[str], Doc],
    spans_key: str,
    alignment: str,
    summary: CorpusSummary,
) -> Doc:
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
        raise CorpusError(path, line_no, 'a doccano record with its "text"', line_text(record))
    doc = make_doc(text)

    def span(start: Any, end: Any, label: Any, what: str) -> Optional[Span]:
        try:
            start, end = as_offset(start), as_offset(end)
            if not isinstance(label, str):
                raise ValueError(f"a label, found {label!r}")
            return char_span(
                doc, start, end, label, alignment=alignment, summary=summary, describe=lambda: what
            )
        except OffsetError as err:
            raise CorpusError(path, line_no, err.expected, err.found) from err
        except ValueError as err:
            raise CorpusError(path, line_no, f"{what}: {err}") from err

    spans: Dict[Any, Optional[Span]] = {}
    relations = []
    if "entities" in record:
        entities = record["entities"]
        if not isinstance(entities, list):
            raise CorpusError(path, line_no, '"entities": a list', line_text(entities))
        for i, entity in enumerate(entities):
            if not isinstance(entity, dict) or "id" not in entity:
                raise CorpusError(
                    path,
                    line_no,
                    f'entity {i} with "id", "label", "start_offset", "end_offset"',
                    line_text(entity),
                )
            spans[entity["id"]] = span(
                entity.get("start_offset"),
                entity.get("end_offset"),
                entity.get("label"),
                f"entity {entity['id']}",
            )
        for i, relation in enumerate(record.get("relations") or []):
            relations.extend(_relation(path, line_no, i, relation, spans, summary))
    else:
        labels = record.get("label", record.get("labels", []))
        if not isinstance(labels, list):
            raise CorpusError(path, line_no, '"label": a list', line_text(labels))
        for i, item in enumerate(labels):
            if isinstance(item, str):
                summary.skipped["doccano document labels (text classification)"] += 1
                continue
            if not isinstance(item, list) or len(item) != 3:
                raise CorpusError(
                    path, line_no, f"label {i} as [start, end, label]", line_text(item)
                )
            spans[i] = span(item[0], item[1], item[2], f"label {i}")
    set_layout(
        doc,
        [s for s in spans.values() if s is not None],
        relations,
        spans_key=spans_key,
        summary=summary,
    )
    return doc


def _relation(
    path: Path,
    line_no: int,
    i: int,
    relation: Any,
    spans: Dict[Any, Optional[Span]],
    summary: CorpusSummary,
) -> List[Relation]:
    if not isinstance(relation, dict) or not isinstance(relation.get("type"), str):
        raise CorpusError(
            path, line_no, f'relation {i} with "from_id", "to_id" and "type"', line_text(relation)
        )
    refs = [relation.get("from_id"), relation.get("to_id")]
    for ref in refs:
        if ref not in spans:
            raise CorpusError(
                path,
                line_no,
                f"relation {i}: from_id and to_id naming entities of the line",
                f"no entity {ref!r}",
            )
    head, tail = (spans[ref] for ref in refs)
    if head is None or tail is None:
        summary.lost_relations.append(f"{path}:{line_no}: relation {i} ({relation['type']})")
        return []
    return [Relation(head, relation["type"], tail)]


def line_text(value: Any) -> str:
    return json.dumps(value)[:80]


def write_doccano(
    docs: Iterable[Tuple[str, Doc]],
    output_path: Union[str, Path],
    *,
    spans_key: str = "sc",
    shape: str = "entities",
) -> Counter:
    """Write each (id, doc) as one doccano line in ``shape``; the ``label`` shape has no
    relations, so they are left out with a warning. Returns counts of what was written and
    left out."""
    written: Counter = Counter()
    records = []
    for doc_id, doc in docs:
        spans = doc_spans(doc, spans_key)
        relations = get_relations(doc)
        record: Dict[str, Any] = {"id": doc_id, "text": doc.text}
        if shape == "label":
            record["label"] = [[s.start_char, s.end_char, s.label_] for s, _ in spans]
            written["relations left out"] += len(relations)
        else:
            ids = {span_key(s): n for n, (s, _) in enumerate(spans, start=1)}
            record["entities"] = [
                {"id": n, "label": s.label_, "start_offset": s.start_char, "end_offset": s.end_char}
                for n, (s, _) in enumerate(spans, start=1)
            ]
            record["relations"] = [
                {
                    "id": n,
                    "from_id": ids[span_key(r.head)],
                    "to_id": ids[span_key(r.tail)],
                    "type": r.label,
                }
                for n, r in enumerate(relations, start=1)
            ]
            written["relations"] += len(relations)
        records.append(record)
        written["spans"] += len(spans)
        written["documents"] += 1
    if written["relations left out"]:
        msg.warn(
            f"{written['relations left out']} relations left out: doccano's label shape has "
            "none (the entities shape keeps them)"
        )
    write_json_lines(Path(output_path), records)
    return written
