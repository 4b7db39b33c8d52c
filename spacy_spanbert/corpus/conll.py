"""CoNLL-2003 / WNUT-style column files -> Docs with ``doc.ents``.

Why not ``spacy convert -c ner``: it recognises only ``-DOCSTART- -X- O O`` as a document
boundary (the common ``-DOCSTART- -X- -X- O`` becomes a one-word sentence), it reads only
IOB/IOB2 leniently, and it does not report what it repaired. This reader detects IOB1, IOB2
and BIOES, keeps ``-DOCSTART-`` boundaries in either form, groups ``n_sents`` sentences per
Doc, and raises :class:`CorpusError` naming ``file:line`` for anything it can't read
(``lenient=True`` repairs what is repairable and lists each repair in the summary).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .errors import CorpusError, read_lines
from .summary import CorpusSummary

SCHEMES = ("auto", "iob1", "iob2", "bioes")
TAG_RE = re.compile(r"^(?P<prefix>[BIESLU])-(?P<label>\S+)$")


@dataclass
class _Sentence:
    words: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    lines: List[int] = field(default_factory=list)
    doc_start: bool = False


def read_conll(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    scheme: str = "auto",
    n_sents: int = 10,
    lenient: bool = False,
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a column file (token first, tag last; blank lines between sentences).

    scheme: "iob1", "iob2", "bioes" (BILOU accepted), or "auto" to detect it from the file.
    n_sents: sentences per Doc, never crossing a ``-DOCSTART-`` boundary.
    lenient: repair an entity continuation with no entity open (start one there) instead of
        raising; each repair is recorded in the summary.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme '{scheme}': expected one of {', '.join(SCHEMES)}")
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    sentences = list(_read_sentences(path))
    if scheme == "auto":
        scheme = detect_scheme(sentences)
    summary.notes.append(f"tag scheme: {scheme}")
    docs = []
    for group in _group(sentences, n_sents):
        doc = _make_doc(vocab, group, scheme, path, lenient, summary)
        summary.count_doc(doc, n_sents=len(group))
        docs.append(doc)
    return docs


def detect_scheme(sentences: List[_Sentence]) -> str:
    """BIOES if any E-/S-/L-/U- tag; IOB1 if an I- tag ever opens an entity; else IOB2."""
    prefixes = {tag[0] for sent in sentences for tag in sent.tags if tag != "O"}
    if prefixes & {"E", "S", "L", "U"}:
        return "bioes"
    for sent in sentences:
        previous = "O"
        for tag in sent.tags:
            if tag.startswith("I-") and previous[2:] != tag[2:]:
                return "iob1"
            previous = tag
    return "iob2"


def _read_sentences(path: Path) -> Iterator[_Sentence]:
    sentence = _Sentence()
    n_columns = None
    doc_start = False
    for line_no, line in read_lines(path):
        columns = line.split()
        if not columns:
            if sentence.words:
                yield sentence
                sentence = _Sentence()
            continue
        if columns[0] == "-DOCSTART-":
            doc_start = True
            continue
        if n_columns is None:
            n_columns = len(columns)
        if len(columns) != n_columns or len(columns) < 2:
            raise CorpusError(
                path, line_no, f"expected {max(n_columns, 2)} columns (token ... tag)", line
            )
        tag = columns[-1]
        if tag != "O" and not TAG_RE.match(tag):
            raise CorpusError(path, line_no, "a tag 'O' or PREFIX-LABEL (B-, I-, E-, S-)", tag)
        if not sentence.words:
            sentence.doc_start, doc_start = doc_start, False
        sentence.words.append(columns[0])
        sentence.tags.append(tag)
        sentence.lines.append(line_no)
    if sentence.words:
        yield sentence


def _group(sentences: List[_Sentence], n_sents: int) -> Iterator[List[_Sentence]]:
    group: List[_Sentence] = []
    for sent in sentences:
        if group and (sent.doc_start or len(group) >= n_sents):
            yield group
            group = []
        group.append(sent)
    if group:
        yield group


def _make_doc(
    vocab: Vocab,
    sentences: List[_Sentence],
    scheme: str,
    path: Path,
    lenient: bool,
    summary: CorpusSummary,
) -> Doc:
    words = [w for sent in sentences for w in sent.words]
    sent_starts: List[Optional[bool]] = [
        i == 0 for sent in sentences for i in range(len(sent.words))
    ]
    doc = Doc(vocab, words=words, sent_starts=sent_starts)  # type: ignore[arg-type]
    ents = []
    offset = 0
    for sent in sentences:
        for start, end, label in decode_tags(sent.tags, scheme, path, sent.lines, lenient, summary):
            ents.append(Span(doc, offset + start, offset + end, label=label))
        offset += len(sent.words)
    doc.ents = ents
    return doc


def decode_tags(
    tags: List[str],
    scheme: str,
    path: Path,
    line_numbers: List[int],
    lenient: bool,
    summary: CorpusSummary,
) -> List[Tuple[int, int, str]]:
    """Tags of one sentence -> (start, end, label) spans, end exclusive.

    line_numbers: the source line of each tag, for error messages and repair records.
    """
    spans: List[Tuple[int, int, str]] = []
    open_start, open_label = -1, ""

    def close(end: int) -> None:
        nonlocal open_start
        if open_start >= 0:
            spans.append((open_start, end, open_label))
        open_start = -1

    for i, tag in enumerate(tags):
        if tag == "O":
            close(i)
            continue
        prefix, label = tag[0], tag[2:]
        continues = open_start >= 0 and open_label == label
        if prefix in "SU" or prefix == "B":
            close(i)
            open_start, open_label = i, label
        elif prefix == "I" and scheme == "iob1":
            if not continues:
                close(i)
                open_start, open_label = i, label
        elif not continues:  # I-, E- or L- with no entity of that label open
            where = f"{path}:{line_numbers[i]}"
            if not lenient:
                raise CorpusError(
                    path,
                    line_numbers[i],
                    f"'{tag}' to continue an open {label} entity ({scheme.upper()}); "
                    "none is open. Use scheme='iob1' if I- starts entities, or lenient=True",
                    tag,
                )
            summary.repairs.append(f"{where}: '{tag}' with no {label} entity open; started one")
            close(i)
            open_start, open_label = i, label
        if prefix in "SUEL":
            close(i + 1)
    close(len(tags))
    return spans
