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
from typing import Any, Dict, Iterator, List, Optional, Union

import numpy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from thinc.api import Model, to_numpy
from tqdm import tqdm

from .corpus.errors import open_data_file
from .corpus.output import write_json, write_json_lines
from .memory import release_memory
from .relations import get_relations

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
ERRORS_DIR = "errors"


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

    def add(self, other: "AnnotateSummary") -> None:
        self.documents += other.documents
        self.errors += other.errors
        self.skipped_shards += other.skipped_shards
        self.entities.update(other.entities)
        self.relations.update(other.relations)


def read_records(
    path: Union[str, Path], *, text_key: str = "text", id_key: str = "id"
) -> Iterator[Record]:
    """The records of a JSON Lines file, a folder of them (``*.jsonl``, sorted), a plain
    text file (one document per line) or a Parquet file. Ids default to ``file:line``."""
    for file in input_files(path):
        yield from file_records(file, text_key=text_key, id_key=id_key)


def input_files(path: Union[str, Path]) -> List[Path]:
    """The files of an input: the file itself, or a folder's ``*.jsonl`` files, sorted."""
    path = Path(path)
    return sorted(path.glob("*.jsonl")) if path.is_dir() else [path]


def file_records(
    file: Path, *, text_key: str = "text", id_key: str = "id", offset: int = 0, first: int = 1
) -> Iterator[Record]:
    """The records of one file from byte ``offset``, which is the start of line ``first``
    (for Parquet: from row ``first``)."""
    if file.suffix == ".parquet":
        yield from _parquet_records(file, text_key, id_key, first)
        return
    jsonl = file.suffix in (".jsonl", ".json")
    with open_data_file(file) as stream:
        stream.seek(offset)
        for line_no, raw in enumerate(stream, start=first):
            source = f"{file}:{line_no}"
            yield (
                _jsonl_record(source, raw, text_key, id_key) if jsonl else _text_record(source, raw)
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


def _parquet_records(file: Path, text_key: str, id_key: str, first: int) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError("Parquet input needs pyarrow: pip install pyarrow") from err
    row = 0
    for batch in pq.ParquetFile(file).iter_batches():
        for data in batch.to_pylist():
            row += 1
            if row < first:
                continue
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
    """A digest of the pipeline's meta, config, components' settings and weights: the same
    for every load of one saved pipeline."""
    digest = hashlib.sha256()
    digest.update(json.dumps(nlp.meta, sort_keys=True, default=str).encode())
    digest.update(nlp.config.to_str().encode())
    for name, pipe in nlp.pipeline:
        digest.update(name.encode())
        digest.update(json.dumps(getattr(pipe, "cfg", {}), sort_keys=True, default=str).encode())
        model = getattr(pipe, "model", None)
        if isinstance(model, Model):
            _hash_weights(digest, model)
    return digest.hexdigest()


def _hash_weights(digest: Any, model: Model) -> None:
    """Add a Thinc model's parameters, and those of the PyTorch models it wraps, to digest."""
    for node in model.walk():
        for param in node.param_names:
            if node.has_param(param):
                digest.update(param.encode())
                digest.update(numpy.ascontiguousarray(to_numpy(node.get_param(param))).data)
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if module is not None and hasattr(module, "state_dict"):
                for key, tensor in module.state_dict().items():
                    digest.update(key.encode())
                    digest.update(tensor.detach().float().cpu().numpy().tobytes())


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
    settings = ShardSettings(batch_size, n_process, docbin, spans_key)
    start_output(nlp, input_path, output_dir, text_key, id_key, shard_size, settings)
    summary = AnnotateSummary()
    shard: List[Record] = []
    index = 0
    with tqdm(desc="Annotating", unit="doc") as progress:
        for record in read_records(input_path, text_key=text_key, id_key=id_key):
            shard.append(record)
            if len(shard) == shard_size:
                summary.add(write_shard(nlp, shard, output_dir, index, settings, progress))
                shard, index = [], index + 1
        if shard:
            summary.add(write_shard(nlp, shard, output_dir, index, settings, progress))
    summary.errors = collect_errors(output_dir)
    return summary


@dataclass
class ShardSettings:
    """How shards are annotated: nlp.pipe's batch size and processes, whether a DocBin is
    written beside each shard, and the spans key read for nested spans."""

    batch_size: int = 64
    n_process: int = 1
    docbin: bool = False
    spans_key: str = "sc"


def start_output(
    nlp: Language,
    input_path: Union[str, Path],
    output_dir: Path,
    text_key: str,
    id_key: str,
    shard_size: int,
    settings: ShardSettings,
) -> None:
    """Create ``output_dir`` with its manifest, or check that the one there matches."""
    (output_dir / ERRORS_DIR).mkdir(parents=True, exist_ok=True)
    manifest = {
        "version": FORMAT_VERSION,
        "model": model_identity(nlp),
        "input": str(Path(input_path).resolve()),
        "settings": {
            "text_key": text_key,
            "id_key": id_key,
            "shard_size": shard_size,
            "docbin": settings.docbin,
            "spans_key": settings.spans_key,
        },
    }
    path = output_dir / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise AnnotateError(
                f"{path} is not the JSON annotate writes ({err}); the shards beside it can't "
                "be matched to a model: choose another output directory or remove that one."
            ) from err
        if old != manifest:
            changed = [key for key in manifest if old.get(key) != manifest[key]]
            raise AnnotateError(
                f"{output_dir} holds shards made with another {' and '.join(changed)}; "
                "shards are never mixed: choose another output directory or remove that one."
            )
        return
    write_json(path, manifest)


def shard_path(output_dir: Path, index: int) -> Path:
    return output_dir / f"shard-{index:05d}.jsonl"


def write_shard(
    nlp: Language,
    records: List[Record],
    output_dir: Path,
    index: int,
    settings: ShardSettings,
    progress: Optional[tqdm] = None,
) -> AnnotateSummary:
    """Annotate one shard's readable records into its file, and its unreadable ones into its
    errors file (each written whole, or not at all); a finished shard is skipped."""
    summary = AnnotateSummary()
    path = shard_path(output_dir, index)
    if path.exists():
        summary.skipped_shards += 1
        if progress is not None:
            progress.update(len(records))
        return summary
    errors = [r for r in records if r.error]
    write_json_lines(
        output_dir / ERRORS_DIR / path.name,
        [{"source": r.source, "id": r.id, "error": r.error} for r in errors],
    )
    readable = [record for record in records if not record.error]
    texts = (record.text or "" for record in readable)
    bin_ = DocBin(store_user_data=True) if settings.docbin else None
    lines = []
    # the strings of the shard's docs are freed when the zone closes: everything the output
    # needs is read into plain values (and the DocBin's own strings) inside it
    with nlp.memory_zone():
        docs = nlp.pipe(texts, batch_size=settings.batch_size, n_process=settings.n_process)
        for record, doc in zip(readable, docs):
            line = doc_record(doc, record, settings.spans_key)
            lines.append(line)
            summary.documents += 1
            summary.entities.update(e["label"] for e in line["entities"])
            summary.relations.update(r["label"] for r in line["relations"])
            if bin_ is not None:
                bin_.add(doc)
            if progress is not None:
                progress.update(1)
    release_memory(nlp.vocab)
    if progress is not None:
        progress.update(len(errors))
    if bin_ is not None:
        partial = path.with_name(f".{path.stem}.spacy.partial")
        try:
            bin_.to_disk(partial)
            os.replace(partial, path.with_suffix(".spacy"))
        finally:
            partial.unlink(missing_ok=True)
    write_json_lines(path, lines)
    return summary


def collect_errors(output_dir: Path) -> int:
    """Gather the shards' errors files into ``errors.jsonl``, in input order; their count."""
    lines = [
        json.loads(line)
        for part in sorted((output_dir / ERRORS_DIR).glob("shard-*.jsonl"))
        for line in part.read_text(encoding="utf8").splitlines()
    ]
    write_json_lines(output_dir / ERRORS, lines)
    return len(lines)
