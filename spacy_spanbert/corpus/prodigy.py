"""Prodigy's JSON Lines (``ner.manual``, ``spans.manual``, ``rel.manual``) in and out.

Reading: the Doc is built from the record's ``tokens`` (``text`` and ``ws``), so spans align
by construction. A span's ``token_end`` is inclusive. A relation's ``head`` and ``child`` are
the last tokens of its two spans, given whole as ``head_span`` and ``child_span``. Only
``answer: "accept"`` is kept (records without an answer, as Prodigy's input files are, too);
the other answers are skipped and counted.

Writing: ``spans`` view (``spans.manual`` / ``rel.manual``: overlapping spans and relations)
or ``ner`` view (``ner.manual``: no overlaps, no relations; what is left out is counted).
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab
from wasabi import msg

from ..relations import Relation, get_relations
from .char_offsets import as_offset
from .errors import CorpusError, read_json_lines
from .layout import doc_spans, set_layout
from .output import write_json_lines
from .summary import CorpusSummary

VIEWS = ("spans", "ner")


def read_prodigy(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    spans_key: str = "sc",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a Prodigy JSON Lines export (``prodigy db-out``); one Doc per accepted task."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    docs = []
    for line_no, task in read_json_lines(path):
        if not isinstance(task, dict):
            raise CorpusError(path, line_no, "a Prodigy task (a JSON object)", str(task)[:60])
        answer = task.get("answer", "accept")
        if answer != "accept":
            summary.skipped[f'Prodigy tasks answered "{answer}"'] += 1
            continue
        docs.append(_read_task(path, line_no, task, vocab, spans_key, summary))
    return docs


def _read_task(
    path: Path,
    line_no: int,
    task: Dict[str, Any],
    vocab: Vocab,
    spans_key: str,
    summary: CorpusSummary,
) -> Doc:
    tokens = task.get("tokens")
    try:
        if not isinstance(tokens, list) or not tokens:
            raise TypeError
        words = [str(t["text"]) for t in tokens]
        spaces = [bool(t.get("ws", True)) for t in tokens]
        if not all(words):
            raise ValueError
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CorpusError(
            path,
            line_no,
            '"tokens": a list of {"text", "ws"} (Prodigy tasks are tokenized)',
            json.dumps(tokens)[:60],
        ) from err
    doc = Doc(vocab, words=words, spaces=spaces)
    text = task.get("text")
    if isinstance(text, str) and text.rstrip() != doc.text.rstrip():
        raise CorpusError(path, line_no, '"tokens" and "ws" that rebuild "text"', doc.text[:60])
    spans = [
        _span(path, line_no, f"span {i}", item, doc)
        for i, item in enumerate(task.get("spans") or [])
    ]
    relations = []
    for i, rel in enumerate(task.get("relations") or []):
        if not isinstance(rel, dict) or not isinstance(rel.get("label"), str):
            raise CorpusError(
                path,
                line_no,
                f'relation {i} with "head_span", "child_span" and "label"',
                json.dumps(rel)[:80],
            )
        head = _span(path, line_no, f"relation {i}'s head_span", rel.get("head_span"), doc)
        tail = _span(path, line_no, f"relation {i}'s child_span", rel.get("child_span"), doc)
        for token, arg in ((rel.get("head"), head), (rel.get("child"), tail)):
            if token is not None and token != arg.end - 1:
                raise CorpusError(
                    path,
                    line_no,
                    f"relation {i}: head and child at the last token of head_span and child_span",
                    f"token {token}, span ending at {arg.end - 1}",
                )
        spans.extend((head, tail))
        relations.append(Relation(head, rel["label"], tail))
    set_layout(doc, spans, relations, spans_key=spans_key, summary=summary)
    return doc


def _span(path: Path, line_no: int, what: str, item: Any, doc: Doc) -> Span:
    try:
        start, end = as_offset(item["token_start"]), as_offset(item["token_end"]) + 1
        label = item["label"]
        if not isinstance(label, str):
            raise ValueError(label)
    except (KeyError, TypeError, ValueError) as err:
        raise CorpusError(
            path,
            line_no,
            f'{what} with integer "token_start", "token_end" and a "label"',
            json.dumps(item)[:80],
        ) from err
    if not 0 <= start < end <= len(doc):
        raise CorpusError(
            path,
            line_no,
            f"{what} within the task's {len(doc)} tokens",
            f"token_start={start}, token_end={end - 1}",
        )
    span = Span(doc, start, end, label=label)
    if (
        "start" in item
        and "end" in item
        and (item["start"], item["end"]) != (span.start_char, span.end_char)
    ):
        raise CorpusError(
            path,
            line_no,
            f"{what}: characters {item['start']}-{item['end']} on its tokens",
            f"{span.start_char}-{span.end_char}",
        )
    return span


def write_prodigy(
    docs: Iterable[Tuple[str, Doc]],
    output_path: Union[str, Path],
    *,
    spans_key: str = "sc",
    view: str = "spans",
) -> Counter:
    """Write each (id, doc) as one Prodigy task for ``view``; with ``ner``, overlapping spans
    (only the outermost are kept) and relations are left out with a warning. Returns counts
    of what was written and left out."""
    written: Counter = Counter()
    records = []
    for doc_id, doc in docs:
        spans = doc_spans(doc, spans_key)
        relations = get_relations(doc)
        if view == "ner":
            kept = {id(span) for span in filter_spans([s for s, _ in spans])}
            written["overlapping spans left out"] += len(spans) - len(kept)
            written["relations left out"] += len(relations)
            spans = [(s, score) for s, score in spans if id(s) in kept]
            relations = []
        records.append(
            {
                "text": doc.text,
                "meta": {"id": doc_id},
                "tokens": [
                    {
                        "text": t.text,
                        "start": t.idx,
                        "end": t.idx + len(t),
                        "id": t.i,
                        "ws": bool(t.whitespace_),
                    }
                    for t in doc
                ],
                "spans": [_span_dict(span, score) for span, score in spans],
                "relations": [
                    {
                        "head": r.head.end - 1,
                        "child": r.tail.end - 1,
                        "head_span": _span_dict(r.head),
                        "child_span": _span_dict(r.tail),
                        "label": r.label,
                    }
                    for r in relations
                ],
            }
        )
        written["spans"] += len(spans)
        written["relations"] += len(relations)
        written["documents"] += 1
    left_out = {k: v for k, v in written.items() if k.endswith("left out") and v}
    if left_out:
        msg.warn(
            "Prodigy's ner view can't hold them: "
            + ", ".join(f"{v} {k}" for k, v in left_out.items())
        )
    write_json_lines(Path(output_path), records)
    return written


def _span_dict(span: Span, score: Optional[float] = None) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "start": span.start_char,
        "end": span.end_char,
        "token_start": span.start,
        "token_end": span.end - 1,
        "label": span.label_,
    }
    if score is not None:
        out["score"] = score
    return out
