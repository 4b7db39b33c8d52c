"""Annotating a corpus: records in (JSON Lines, plain text, Parquet), JSON Lines out, in shards
that a rerun resumes.

Each output line is one document: ``{"version": 1, "id", "meta", "text", "entities",
"spans", "relations", "cats"}`` with character offsets (``text[start:end]`` is the span's
text), labels and scores (see docs/annotate.md). A record that can't be read goes to
``errors.jsonl`` with its ``file:line`` and is counted; nothing is dropped silently. Output is
written in shards of ``shard_size`` input records beside ``manifest.json`` (the model's
identity, the input and the settings): a rerun with the same manifest skips the finished
shards, a rerun with another model or other settings is refused, and a crash loses at most
the shard in flight.
"""

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from .corpus.errors import open_data_file
from .relations import get_relations

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"


class AnnotateError(ValueError):
    """The output directory holds shards made another way; the message says how."""


@dataclass
class Record:
    """One input document: where it came from (``file:line``), its id, text and metadata;
    ``error`` instead of a text when it can't be read."""

    source: str
    id: str
    text: Optional[str] = None
    meta: Dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class AnnotateSummary:
    documents: int = 0
    errors: int = 0
    skipped_shards: int = 0
    entities: Counter = field(default_factory=Counter)
    relations: Counter = field(default_factory=Counter)


def read_records(
    path: Union[str, Path], *, text_key: str = "text", id_key: str = "id"
) -> Iterator[Record]:
    """The records of a JSON Lines file, a folder of them (``*.jsonl``, sorted), a plain
    text file (one document per line) or a Parquet file. Ids default to ``file:line``."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    for file in files:
        if file.suffix == ".parquet":
            yield from _parquet_records(file, text_key, id_key)
            continue
        jsonl = file.suffix in (".jsonl", ".json")
        with open_data_file(file) as stream:
            for line_no, raw in enumerate(stream, start=1):
                source = f"{file}:{line_no}"
                yield (
                    _jsonl_record(source, raw, text_key, id_key)
                    if jsonl
                    else _text_record(source, raw)
                )


def _text_record(source: str, raw: bytes) -> Record:
    try:
        text = raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        return Record(source, source, error="not UTF-8 text")
    return Record(source, source, text)


def _jsonl_record(source: str, raw: bytes, text_key: str, id_key: str) -> Record:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return Record(source, source, error=f"not a JSON object ({err})")
    if not isinstance(data, dict):
        return Record(source, source, error="not a JSON object")
    text = data.pop(text_key, None)
    record_id = str(data.pop(id_key, source))
    if not isinstance(text, str):
        found = "missing" if text is None else type(text).__name__
        return Record(source, record_id, error=f'"{text_key}": expected text, found {found}')
    return Record(source, record_id, text, data)


def _parquet_records(file: Path, text_key: str, id_key: str) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError("Parquet input needs pyarrow: pip install pyarrow") from err
    row = 0
    for batch in pq.ParquetFile(file).iter_batches():
        for data in batch.to_pylist():
            row += 1
            source = f"{file}:row {row}"
            text = data.pop(text_key, None)
            record_id = str(data.pop(id_key, source))
            if not isinstance(text, str):
                yield Record(source, record_id, error=f'"{text_key}": expected text')
            else:
                yield Record(source, record_id, text, data)


def doc_record(doc: Doc, record: Record, spans_key: str = "sc") -> Dict[str, Any]:
    """The output line of one annotated document (see the module docstring)."""
    span_scores = doc.spans[spans_key].attrs.get("scores") if spans_key in doc.spans else None
    scores = {}
    spans = []
    if spans_key in doc.spans:
        for i, span in enumerate(doc.spans[spans_key]):
            score = float(span_scores[i]) if span_scores is not None else None
            scores[(span.start_char, span.end_char, span.label_)] = score
            spans.append(_span(span, score))
    return {
        "version": FORMAT_VERSION,
        "id": record.id,
        "meta": record.meta,
        "text": doc.text,
        "entities": [_span(e, scores.get((e.start_char, e.end_char, e.label_))) for e in doc.ents],
        "spans": spans,
        "relations": [
            {"head": _span(r.head), "label": r.label, "tail": _span(r.tail), "score": r.score}
            for r in get_relations(doc)
        ],
        "cats": {label: float(score) for label, score in doc.cats.items()},
    }


def _span(span, score: Optional[float] = None) -> Dict[str, Any]:
    out: Dict[str, Any] = {"start": span.start_char, "end": span.end_char, "label": span.label_}
    if score is not None:
        out["score"] = score
    return out


def model_identity(nlp: Language) -> str:
    """A digest of the pipeline's meta, config and weights."""
    digest = hashlib.sha256()
    digest.update(json.dumps(nlp.meta, sort_keys=True, default=str).encode())
    digest.update(nlp.config.to_str().encode())
    for name, pipe in nlp.pipeline:
        if hasattr(pipe, "to_bytes"):
            digest.update(name.encode())
            digest.update(pipe.to_bytes(exclude=["vocab"]))
    return digest.hexdigest()


def annotate(
    nlp: Language,
    input_path: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    text_key: str = "text",
    id_key: str = "id",
    batch_size: int = 64,
    shard_size: int = 10000,
    n_process: int = 1,
    docbin: bool = False,
    spans_key: str = "sc",
) -> AnnotateSummary:
    """Annotate every record of ``input_path`` into shards under ``output_dir``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "version": FORMAT_VERSION,
        "model": model_identity(nlp),
        "input": str(Path(input_path).resolve()),
        "settings": {
            "text_key": text_key,
            "id_key": id_key,
            "shard_size": shard_size,
            "docbin": docbin,
            "spans_key": spans_key,
        },
    }
    _check_manifest(output_dir / MANIFEST, manifest)
    summary = AnnotateSummary()
    shard: List[Record] = []
    index = 0
    with (
        (output_dir / ERRORS).open("w", encoding="utf8") as errors,
        tqdm(desc="Annotating", unit="doc") as progress,
    ):

        def flush() -> None:
            settings = (batch_size, n_process, docbin, spans_key)
            _write_shard(
                nlp, shard, output_dir / f"shard-{index:05d}.jsonl", settings, summary, progress
            )

        for record in read_records(input_path, text_key=text_key, id_key=id_key):
            if record.error:
                line = {"source": record.source, "id": record.id, "error": record.error}
                errors.write(json.dumps(line) + "\n")
                summary.errors += 1
            shard.append(record)
            if len(shard) == shard_size:
                flush()
                shard, index = [], index + 1
        if shard:
            flush()
    return summary


def _check_manifest(path: Path, manifest: Dict[str, Any]) -> None:
    if path.exists():
        old = json.loads(path.read_text(encoding="utf8"))
        if old != manifest:
            changed = [key for key in manifest if old.get(key) != manifest[key]]
            raise AnnotateError(
                f"{path.parent} holds shards made with another {' and '.join(changed)}; "
                "shards are never mixed: choose another output directory or remove that one."
            )
        return
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf8")


def _write_shard(
    nlp: Language,
    records: List[Record],
    path: Path,
    settings: Tuple[int, int, bool, str],
    summary: AnnotateSummary,
    progress: tqdm,
) -> None:
    """Annotate one shard's readable records into ``path`` (written whole, or not at all);
    a shard already there is skipped. settings: batch size, processes, DocBin, spans key."""
    batch_size, n_process, docbin, spans_key = settings
    if path.exists():
        summary.skipped_shards += 1
        progress.update(len(records))
        return
    readable = [record for record in records if not record.error]
    partial = path.with_name(f".{path.name}.partial")
    texts = (record.text or "" for record in readable)
    docs = nlp.pipe(texts, batch_size=batch_size, n_process=n_process)
    bin_ = DocBin(store_user_data=True) if docbin else None
    with partial.open("w", encoding="utf8") as out:
        for record, doc in zip(readable, docs):
            line = doc_record(doc, record, spans_key)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            summary.documents += 1
            summary.entities.update(e["label"] for e in line["entities"])
            summary.relations.update(r["label"] for r in line["relations"])
            if bin_ is not None:
                bin_.add(doc)
            progress.update(1)
    progress.update(len(records) - len(readable))
    if bin_ is not None:
        bin_.to_disk(path.with_suffix(".spacy"))
    os.replace(partial, path)
