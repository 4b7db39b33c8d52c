"""brat standoff (``.txt`` + ``.ann``, or BioNLP's ``.a1`` + ``.a2``) in and out.

Reading: offsets are characters of the ``.txt`` read with universal newlines (so CRLF and LF
texts give the same entities), byte-order marks removed. Line types:

- ``T`` (text-bound annotation): a span; its text is checked against the ``.txt``.
  Fragments of a discontinuous one that only whitespace separates are merged; for real gaps
  ``discontinuous`` decides: ``split`` (one span per fragment; relations use the first),
  ``cover`` (one span from the first fragment's start to the last one's end), ``skip``.
- ``R`` (relation): ``Arg1`` is the head and ``Arg2`` the tail (the first and the second
  argument, whatever their role names).
- ``E`` (event): its trigger is a ``T`` span; each argument becomes a relation from the
  trigger labelled with the role (``Theme2`` read as ``Theme``). A relation or event whose
  argument is an event uses that event's trigger.
- ``A``/``M`` (attributes), ``N`` (normalizations) and ``*`` (Equiv sets) carry no span or
  directed relation: skipped and counted; ``#`` (notes) are comments.

Writing: one ``.txt``/``.ann`` pair per document, spans as ``T`` lines with their scores as
``AnnotatorNotes``, relations as ``R`` lines, and an ``annotation.conf`` with the labels.
"""

import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span

from ..relations import Relation, get_relations
from .char_offsets import OffsetError, char_span
from .errors import CorpusError, read_lines, read_text
from .layout import doc_spans, set_layout, span_key
from .summary import CorpusSummary

ANNOTATION_SUFFIXES = (".ann", ".a1", ".a2")
DISCONTINUOUS = ("split", "cover", "skip")
SKIPPED_LINES = {
    "A": "brat attribute lines (A)",
    "M": "brat attribute lines (M)",
    "N": "brat normalization lines (N)",
    "*": "brat Equiv lines (*)",
}
ROLE_NUMBER = re.compile(r"\d+$")


@dataclass
class _Line:
    path: Path
    number: int
    id: str
    fields: List[str]


@dataclass
class _Document:
    """The lines of one document's annotation files, by ID."""

    text_path: Path
    lines: Dict[str, _Line] = field(default_factory=dict)
    order: List[str] = field(default_factory=list)


def read_brat(
    path: Union[str, Path],
    make_doc: Callable[[str], Doc],
    *,
    spans_key: str = "sc",
    alignment: str = "strict",
    discontinuous: str = "split",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a brat document (any of its files) or a folder of them (searched recursively,
    sorted by path); one Doc per document."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    return [
        _read_document(base, make_doc, spans_key, alignment, discontinuous, summary)
        for base in _document_bases(path, summary)
    ]


def _document_bases(path: Path, summary: CorpusSummary) -> List[Path]:
    """The documents of ``path``, each as its path without a suffix."""
    if path.is_dir():
        annotated = {p.with_suffix("") for s in ANNOTATION_SUFFIXES for p in path.rglob(f"*{s}")}
        texts = {p.with_suffix("") for p in path.rglob("*.txt")}
        if texts - annotated:
            summary.skipped["brat .txt files without annotations"] += len(texts - annotated)
        return sorted(annotated)
    if path.suffix not in (*ANNOTATION_SUFFIXES, ".txt"):
        raise CorpusError(
            path, 0, "a brat .ann (or .a1/.a2) file, its .txt, or a folder of them", path.suffix
        )
    if not path.is_file():
        raise CorpusError(path, 0, "an existing file", "nothing at that path")
    return [path.with_suffix("")]


def _read_document(
    base: Path,
    make_doc: Callable[[str], Doc],
    spans_key: str,
    alignment: str,
    discontinuous: str,
    summary: CorpusSummary,
) -> Doc:
    document = _read_lines(base, summary)
    text_path = document.text_path
    if not text_path.is_file():
        ann = next(base.with_suffix(s) for s in ANNOTATION_SUFFIXES if base.with_suffix(s).exists())
        raise CorpusError(ann, 0, f"its text beside it, {text_path.name}", "no such file")
    text = read_text(text_path).replace("\r\n", "\n").replace("\r", "\n")
    doc = make_doc(text)
    if doc.text != text:
        raise CorpusError(text_path, 0, "a tokenizer that keeps the text as it is")
    spans: Dict[str, List[Span]] = {}
    for ann_id in document.order:
        line = document.lines[ann_id]
        if ann_id[0] == "T":
            spans[ann_id] = _text_bound(line, doc, alignment, discontinuous, summary)
    relations = []
    for ann_id in document.order:
        line = document.lines[ann_id]
        if ann_id[0] == "R":
            relations.extend(_relation(line, document, spans, summary))
        elif ann_id[0] == "E":
            relations.extend(_event_arguments(line, document, spans, summary))
    set_layout(
        doc,
        [span for fragments in spans.values() for span in fragments],
        relations,
        spans_key=spans_key,
        summary=summary,
    )
    return doc


def _read_lines(base: Path, summary: CorpusSummary) -> _Document:
    document = _Document(base.with_suffix(".txt"))
    for suffix in ANNOTATION_SUFFIXES:
        ann_path = base.with_suffix(suffix)
        if not ann_path.is_file():
            continue
        for number, text in read_lines(ann_path):
            if not text.strip():
                continue
            fields = text.split("\t")
            ann_id = fields[0].strip()
            kind = ann_id[:1]
            if kind == "#":
                summary.comments += 1
            elif kind in SKIPPED_LINES:
                summary.skipped[SKIPPED_LINES[kind]] += 1
            elif kind in ("T", "R", "E") and len(fields) >= 2:
                if ann_id in document.lines:
                    first = document.lines[ann_id]
                    raise CorpusError(
                        ann_path, number, f"a new ID ({ann_id} is on line {first.number})"
                    )
                document.lines[ann_id] = _Line(ann_path, number, ann_id, fields)
                document.order.append(ann_id)
            else:
                raise CorpusError(
                    ann_path,
                    number,
                    "a brat annotation line: ID<TAB>..., the ID starting with T, R, E, A, M, "
                    "N, # or *",
                    text[:60],
                )
    return document


def _fragments(line: _Line) -> Tuple[str, List[Tuple[int, int]]]:
    label, _, offsets = line.fields[1].partition(" ")
    try:
        fragments = []
        for fragment in offsets.split(";"):
            start, end = fragment.split()
            fragments.append((int(start), int(end)))
    except ValueError as err:
        raise CorpusError(
            line.path,
            line.number,
            f"{line.id}: TYPE START END[;START END...] with integer character offsets",
            line.fields[1],
        ) from err
    if not label:
        raise CorpusError(line.path, line.number, f"{line.id}: a type before the offsets")
    return label, fragments


def _text_bound(
    line: _Line, doc: Doc, alignment: str, discontinuous: str, summary: CorpusSummary
) -> List[Span]:
    label, fragments = _fragments(line)
    text = doc.text
    for start, end in fragments:
        if not 0 <= start < end <= len(text):
            raise CorpusError(
                line.path,
                line.number,
                f"{line.id}: offsets within the text's {len(text)} characters (0 <= start < end)",
                f"{start} {end}",
            )
    if len(line.fields) >= 3:
        written = " ".join(line.fields[2].split())
        sliced = " ".join(" ".join(text[s:e] for s, e in fragments).split())
        if written != sliced:
            raise CorpusError(
                line.path,
                line.number,
                f"{line.id}'s text {written!r} at its offsets in the .txt",
                sliced,
            )
    fragments = _merge_whitespace_gaps(sorted(fragments), text, summary)
    if len(fragments) > 1:
        summary.changed[f"discontinuous entities read with --discontinuous {discontinuous}"] += 1
        if discontinuous == "skip":
            return []
        if discontinuous == "cover":
            fragments = [(fragments[0][0], fragments[-1][1])]
    spans = []
    for start, end in fragments:
        try:
            span = char_span(
                doc,
                start,
                end,
                label,
                alignment=alignment,
                summary=summary,
                describe=lambda: line.id,
            )
        except OffsetError as err:
            raise CorpusError(line.path, line.number, err.expected, err.found) from err
        if span is not None:
            spans.append(span)
    return spans


def _merge_whitespace_gaps(
    fragments: List[Tuple[int, int]], text: str, summary: CorpusSummary
) -> List[Tuple[int, int]]:
    merged = [fragments[0]]
    for start, end in fragments[1:]:
        if not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            summary.changed["discontinuous entities merged (only whitespace between)"] += 1
        else:
            merged.append((start, end))
    return merged


def _argument(
    line: _Line, ref: str, document: _Document, spans: Dict[str, List[Span]]
) -> Optional[Span]:
    """The span an argument names: a T's (first) span, an event's trigger; None where the
    span was not kept."""
    seen = set()
    while ref.startswith("E") and ref in document.lines and ref not in seen:
        seen.add(ref)
        ref = document.lines[ref].fields[1].split()[0].partition(":")[2]
    if ref not in spans:
        raise CorpusError(
            line.path,
            line.number,
            f"{line.id}: arguments that are T lines or events of this document",
            f"{ref} is not one",
        )
    return spans[ref][0] if spans[ref] else None


def _relation(
    line: _Line, document: _Document, spans: Dict[str, List[Span]], summary: CorpusSummary
) -> List[Relation]:
    label, *args = line.fields[1].split()
    refs = [arg.partition(":")[2] for arg in args]
    if len(refs) != 2 or not all(refs):
        raise CorpusError(
            line.path, line.number, f"{line.id}: TYPE Arg1:ID Arg2:ID", line.fields[1]
        )
    head, tail = (_argument(line, ref, document, spans) for ref in refs)
    return _kept(line, label, head, tail, summary)


def _event_arguments(
    line: _Line, document: _Document, spans: Dict[str, List[Span]], summary: CorpusSummary
) -> List[Relation]:
    trigger_ref, *args = line.fields[1].split()
    trigger = _argument(line, trigger_ref.partition(":")[2], document, spans)
    relations = []
    for arg in args:
        role, _, ref = arg.partition(":")
        if not ref:
            raise CorpusError(line.path, line.number, f"{line.id}: ROLE:ID arguments", arg)
        tail = _argument(line, ref, document, spans)
        relations.extend(_kept(line, ROLE_NUMBER.sub("", role), trigger, tail, summary))
    if relations:
        summary.changed["event arguments read as relations from the trigger"] += len(relations)
    return relations


def _kept(
    line: _Line, label: str, head: Optional[Span], tail: Optional[Span], summary: CorpusSummary
) -> List[Relation]:
    if head is None or tail is None:
        summary.lost_relations.append(f"{line.path}:{line.number}: {line.id} ({label})")
        return []
    return [Relation(head, label, tail)]


def write_brat(
    docs: Iterable[Tuple[str, Doc]], output_dir: Union[str, Path], *, spans_key: str = "sc"
) -> Counter:
    """Write each (name, doc) as ``name.txt`` + ``name.ann`` under ``output_dir`` (created
    whole, or not at all), with an ``annotation.conf`` listing the labels. Returns counts of
    what was written."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    written: Counter = Counter()
    entity_labels: set = set()
    relation_args: Dict[str, Tuple[set, set]] = {}
    try:
        for name, doc in docs:
            lines, doc_labels = _ann_lines(doc, spans_key, relation_args, written)
            entity_labels.update(doc_labels)
            with (partial / f"{name}.txt").open("w", encoding="utf8", newline="") as file_:
                file_.write(doc.text)
            with (partial / f"{name}.ann").open("w", encoding="utf8", newline="") as file_:
                file_.writelines(line + "\n" for line in lines)
            written["documents"] += 1
        (partial / "annotation.conf").write_text(
            _annotation_conf(entity_labels, relation_args), encoding="utf8"
        )
        if output_dir.exists():
            shutil.rmtree(output_dir)
        os.replace(partial, output_dir)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    return written


def _ann_lines(
    doc: Doc, spans_key: str, relation_args: Dict[str, Tuple[set, set]], written: Counter
) -> Tuple[List[str], set]:
    lines = []
    ids: Dict[Tuple[int, int, str], str] = {}
    labels = set()
    for span, score in doc_spans(doc, spans_key):
        _check_type_name(span.label_)
        labels.add(span.label_)
        t_id = f"T{len(ids) + 1}"
        ids[span_key(span)] = t_id
        text = " ".join(span.text.split("\n"))
        lines.append(f"{t_id}\t{span.label_} {span.start_char} {span.end_char}\t{text}")
        if score is not None:
            lines.append(f"#{len(ids)}\tAnnotatorNotes {t_id}\tscore {score:.4f}")
        written["spans"] += 1
    for i, rel in enumerate(get_relations(doc), start=1):
        _check_type_name(rel.label)
        head, tail = ids[span_key(rel.head)], ids[span_key(rel.tail)]
        lines.append(f"R{i}\t{rel.label} Arg1:{head} Arg2:{tail}")
        heads, tails = relation_args.setdefault(rel.label, (set(), set()))
        heads.add(rel.head.label_)
        tails.add(rel.tail.label_)
        written["relations"] += 1
    return lines, labels


def _check_type_name(label: str) -> None:
    if not label or any(char.isspace() for char in label):
        raise ValueError(f"brat type names have no spaces: {label!r} can't be written")


def _annotation_conf(entity_labels: set, relation_args: Dict[str, Tuple[set, set]]) -> str:
    relations = [
        f"{label}\tArg1:{'|'.join(sorted(heads))}, Arg2:{'|'.join(sorted(tails))}"
        for label, (heads, tails) in sorted(relation_args.items())
    ]
    sections = [
        "[entities]",
        *sorted(entity_labels),
        "",
        "[relations]",
        *relations,
        "",
        "[events]",
        "",
        "[attributes]",
        "",
    ]
    return "\n".join(sections)
