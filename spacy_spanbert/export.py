"""Predictions back into annotation tools: ``annotate``'s JSON Lines (or a DocBin) written as
pre-annotations that brat, Label Studio, doccano or Prodigy import for correction."""

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple, Union

from spacy.tokens import Doc, DocBin, Span

from .corpus.brat import write_brat
from .corpus.char_offsets import OffsetError, as_offset, char_span
from .corpus.doccano import write_doccano
from .corpus.errors import CorpusError, read_lines
from .corpus.label_studio import labeling_config, write_label_studio
from .corpus.layout import set_layout
from .corpus.prodigy import write_prodigy
from .corpus.summary import CorpusSummary
from .relations import Relation, get_relations

FORMATS = ("brat", "label-studio", "doccano", "prodigy")
UNSAFE_NAME = re.compile(r"[^\w.-]+")


def read_predictions(
    path: Union[str, Path], make_doc: Callable[[str], Doc], *, spans_key: str = "sc"
) -> Iterator[Tuple[str, Doc]]:
    """(id, doc) for each document of ``annotate``'s output (its folder, or one shard) or of
    a DocBin (ids ``doc-00000``...). Spans carry their scores in
    ``doc.spans[spans_key].attrs["scores"]``."""
    path = Path(path)
    if path.suffix == ".spacy":
        for i, doc in enumerate(DocBin().from_disk(path).get_docs(make_doc("").vocab)):
            yield f"doc-{i:05d}", doc
        return
    files = sorted(path.glob("shard-*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise CorpusError(path, 0, "annotate's output: a folder of shard-*.jsonl files")
    for file in files:
        for line_no, line in read_lines(file):
            if line.strip():
                yield _prediction(file, line_no, line, make_doc, spans_key)


def _prediction(
    path: Path, line_no: int, line: str, make_doc: Callable[[str], Doc], spans_key: str
) -> Tuple[str, Doc]:
    try:
        record = json.loads(line)
        doc = make_doc(record["text"])
        spans: Dict[Tuple[int, int, str], Tuple[Span, Any]] = {}
        for item in [*record.get("spans", []), *record.get("entities", [])]:
            span = _span(doc, item)
            spans.setdefault((span.start, span.end, span.label_), (span, item.get("score")))
        relations = [
            Relation(_span(doc, r["head"]), r["label"], _span(doc, r["tail"]), r.get("score", 1.0))
            for r in record.get("relations", [])
        ]
        cats = {str(k): float(v) for k, v in record.get("cats", {}).items()}
        doc_id = str(record.get("id", f"{path}:{line_no}"))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise CorpusError(
            path,
            line_no,
            "a line of annotate's output (text, entities, spans, relations)",
            line[:60],
        ) from err
    set_layout(
        doc,
        [span for span, _ in spans.values()],
        relations,
        spans_key=spans_key,
        summary=CorpusSummary(str(path)),
    )
    scores = [score for _, score in spans.values()]
    if any(score is not None for score in scores):
        by_key = {key: score for key, (_, score) in spans.items()}
        doc.spans[spans_key].attrs["scores"] = [
            float(by_key.get((s.start, s.end, s.label_)) or 0.0) for s in doc.spans[spans_key]
        ]
    doc.cats = cats
    return doc_id, doc


def _span(doc: Doc, item: Dict[str, Any]) -> Span:
    try:
        span = char_span(
            doc,
            as_offset(item["start"]),
            as_offset(item["end"]),
            str(item["label"]),
            alignment="strict",
            summary=CorpusSummary(""),
            describe=lambda: f"span {item['start']}-{item['end']} ({item['label']})",
        )
    except OffsetError as err:
        raise ValueError(str(err)) from err
    assert span is not None
    return span


def unique_names(docs: Iterator[Tuple[str, Doc]]) -> Iterator[Tuple[str, Doc]]:
    """Ids made safe as file names (``a/b:3`` -> ``a_b_3``), each once."""
    seen: Counter = Counter()
    for doc_id, doc in docs:
        name = UNSAFE_NAME.sub("_", doc_id).strip("._") or "doc"
        seen[name] += 1
        yield (name if seen[name] == 1 else f"{name}-{seen[name]}"), doc


def export(
    file_format: str,
    input_path: Union[str, Path],
    output: Union[str, Path],
    make_doc: Callable[[str], Doc],
    *,
    spans_key: str = "sc",
    text_key: str = "text",
    from_name: str = "label",
    to_name: str = "text",
    model_version: str = "spacy-spanbert",
    doccano_shape: str = "entities",
    prodigy_view: str = "spans",
) -> Counter:
    """Write the predictions in ``input_path`` to ``output`` for ``file_format``; counts of
    what was written and left out. Read whole first, so a bad line writes nothing."""
    docs: List[Tuple[str, Doc]] = list(read_predictions(input_path, make_doc, spans_key=spans_key))
    if not docs:
        raise CorpusError(input_path, 0, "at least one document", "none")
    if file_format == "brat":
        return write_brat(unique_names(iter(docs)), output, spans_key=spans_key)
    if file_format == "label-studio":
        written = write_label_studio(
            docs,
            output,
            spans_key=spans_key,
            text_key=text_key,
            from_name=from_name,
            to_name=to_name,
            model_version=model_version,
        )
        config = labeling_config(
            {span.label_ for _, doc in docs for span in doc.spans.get(spans_key, [])},
            {rel.label for _, doc in docs for rel in get_relations(doc)},
            text_key=text_key,
            from_name=from_name,
            to_name=to_name,
        )
        Path(output).with_suffix(".config.xml").write_text(config, encoding="utf8")
        return written
    if file_format == "doccano":
        return write_doccano(docs, output, spans_key=spans_key, shape=doccano_shape)
    if file_format == "prodigy":
        return write_prodigy(docs, output, spans_key=spans_key, view=prodigy_view)
    raise ValueError(f"unknown format {file_format!r}; expected one of {', '.join(FORMATS)}")
