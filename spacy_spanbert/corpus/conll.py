"""CoNLL-2003 / WNUT-style column files -> Docs with ``doc.ents`` (and nested layers).

Why not ``spacy convert -c ner``: it recognises only ``-DOCSTART- -X- O O`` as a document
boundary (the common ``-DOCSTART- -X- -X- O`` becomes a one-word sentence), it reads only
IOB/IOB2 leniently, and it does not report what it repaired. This reader detects IOB1, IOB2
and BIOES from the evidence of the whole file, keeps ``-DOCSTART-`` boundaries in either form,
groups ``n_sents`` sentences per Doc, and raises :class:`CorpusError` naming ``file:line`` for
anything it can't read (``lenient=True`` repairs what is repairable and lists each repair).

Nested NER shipped as one tag column per nesting level (GermEval 2014:
``index<TAB>token<TAB>outer<TAB>inner`` with ``#`` comment lines) is read layer by layer:
every layer goes into ``doc.spans[spans_key]``, the outermost non-overlapping spans into
``doc.ents``. The last column is always a layer; the tag-shaped columns next to it are layers
too, except a column of syntactic chunks (CoNLL-2003's ``B-NP``, ``I-VP``, ...), which the
summary names as left out. ``tag_columns`` chooses the layers explicitly.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from .errors import CorpusError, read_lines
from .summary import CorpusSummary

SCHEMES = ("auto", "iob1", "iob2", "bioes")
TAG_RE = re.compile(r"^(?P<prefix>[BIESLU])-(?P<label>\S+)$")
SCHEME_HINT = "--scheme iob1 if I- starts entities in this file, or --lenient to repair"
# Syntactic chunk labels (CoNLL-2000, and CoNLL-2003's third column): never entity layers.
CHUNK_LABELS = {"NP", "VP", "PP", "ADJP", "ADVP", "SBAR", "PRT", "INTJ", "CONJP", "LST", "UCP"}


@dataclass
class _Sentence:
    rows: List[List[str]] = field(default_factory=list)
    lines: List[int] = field(default_factory=list)
    doc_start: bool = False


@dataclass
class _Columns:
    """Which columns hold the token and the tag layers (0-based, outermost layer first)."""

    token: int
    layers: List[int]


def read_conll(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    scheme: str = "auto",
    n_sents: int = 10,
    lenient: bool = False,
    tag_columns: Optional[Sequence[int]] = None,
    spans_key: str = "sc",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a column file (token first, or after an index column; tags last; blank lines
    between sentences).

    scheme: "iob1", "iob2", "bioes" (BILOU accepted), or "auto" to decide from the file.
    n_sents: sentences per Doc, never crossing a ``-DOCSTART-`` boundary.
    lenient: repair a tag that is invalid under the scheme (an entity continuation with no
        entity of its label open: start one there) instead of raising; each repair is
        recorded in the summary.
    tag_columns: 1-based columns holding tag layers, outermost first (default: decided from
        the file, see the module docstring).
    spans_key: the ``doc.spans`` key for the layers, when there are several.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme '{scheme}': expected one of {', '.join(SCHEMES)}")
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    sentences = list(_read_sentences(path, summary))
    columns = _choose_columns(path, sentences, tag_columns, summary)
    layers = [[[row[c] for row in sent.rows] for sent in sentences] for c in columns.layers]
    if scheme == "auto":
        scheme, reason = detect_scheme(layers, sentences)
        summary.notes.append(f"tag scheme: {scheme} (auto: {reason})")
    else:
        summary.notes.append(f"tag scheme: {scheme}")
    docs = []
    layer_counts: Counter = Counter()
    sent_index = 0
    for group in _group(sentences, n_sents):
        indices = range(sent_index, sent_index + len(group))
        sent_index += len(group)
        doc = _make_doc(vocab, group, columns.token)
        spans: List[Span] = []
        for depth, layer in enumerate(layers):
            offset = 0
            for i, sent in zip(indices, group):
                decoded = decode_tags(layer[i], scheme, path, sent.lines, lenient, summary)
                for start, end, label in decoded:
                    spans.append(Span(doc, offset + start, offset + end, label=label))
                layer_counts[depth] += len(decoded)
                offset += len(sent.rows)
        if len(layers) == 1:
            doc.ents = spans
        else:
            doc.spans[spans_key] = spans
            doc.ents = filter_spans(spans)
            summary.not_in_ents += len(spans) - len(doc.ents)
        summary.count_doc(doc, n_sents=len(group), spans_key=spans_key)
        docs.append(doc)
    if len(layers) > 1:
        per_layer = ", ".join(
            f"column {c + 1}: {layer_counts[d]}" for d, c in enumerate(columns.layers)
        )
        summary.notes.append(f"entities per layer ({per_layer})")
    return docs


def detect_scheme(layers: List[List[List[str]]], sentences: List[_Sentence]) -> Tuple[str, str]:
    """The scheme the whole file's tags are written in, and why.

    BIOES if any E-/S-/L-/U- tag. Otherwise entities are counted by how they open: with B-
    after no entity of their label, or with I- (which only IOB1 allows). The file is IOB1 if
    more entities open with I- than with B-, else IOB2 (and the entities opened by I- are
    invalid)."""
    b_opens: List[int] = []
    i_opens: List[int] = []
    for layer in layers:
        for tags, sent in zip(layer, sentences):
            previous = "O"
            for tag, line in zip(tags, sent.lines):
                if tag[0] in "ESLU":
                    return "bioes", f"line {line} has {tag}"
                continues = previous != "O" and previous[2:] == tag[2:]
                if tag.startswith("B-") and not continues:
                    b_opens.append(line)
                elif tag.startswith("I-") and not continues:
                    i_opens.append(line)
                previous = tag
    if len(i_opens) > len(b_opens):
        return "iob1", f"{len(i_opens)} entities open with I-, first at line {i_opens[0]}"
    if not i_opens:
        return "iob2", f"{len(b_opens)} entities open with B-, none with I-"
    lines = ", ".join(map(str, i_opens[:5])) + (", ..." if len(i_opens) > 5 else "")
    return "iob2", (
        f"{len(b_opens)} entities open with B-, {len(i_opens)} with I- (invalid in IOB2) "
        f"at line {lines}"
    )


def _read_sentences(path: Path, summary: CorpusSummary) -> Iterator[_Sentence]:
    sentence = _Sentence()
    n_columns = None
    doc_start = False
    for line_no, line in read_lines(path):
        columns = line.split()
        if not columns:
            if sentence.rows:
                yield sentence
                sentence = _Sentence()
            continue
        if columns[0] == "-DOCSTART-":
            doc_start = True
            continue
        if not sentence.rows and _is_comment(columns):
            summary.comments += 1
            continue
        if n_columns is None:
            n_columns = len(columns)
        if len(columns) != n_columns or len(columns) < 2:
            raise CorpusError(
                path,
                line_no,
                f"{max(n_columns, 2)} whitespace-separated columns (token ... tag), as on the "
                "file's first line",
                line[:80],
            )
        if not sentence.rows:
            sentence.doc_start, doc_start = doc_start, False
        sentence.rows.append(columns)
        sentence.lines.append(line_no)
    if sentence.rows:
        yield sentence


def _is_comment(columns: List[str]) -> bool:
    """A ``#`` line before a sentence whose last column is no tag (GermEval's source lines);
    a ``#`` token with a tag (``#  O``) is a token."""
    return columns[0].startswith("#") and (len(columns) == 1 or not _is_tag(columns[-1]))


def _is_tag(value: str) -> bool:
    return value == "O" or TAG_RE.match(value) is not None


def _choose_columns(
    path: Path,
    sentences: List[_Sentence],
    tag_columns: Optional[Sequence[int]],
    summary: CorpusSummary,
) -> _Columns:
    """The token column (0, or 1 after an index column counting 1, 2, ... per sentence) and
    the tag layers: ``tag_columns`` (1-based) when given, else the last column and the
    tag-shaped columns next to it that are not syntactic chunks."""
    if not sentences:
        return _Columns(0, [0])
    n_columns = len(sentences[0].rows[0])
    indexed = n_columns > 2 and all(
        row[0] == str(i) for sent in sentences for i, row in enumerate(sent.rows, start=1)
    )
    token = 1 if indexed else 0
    labels: Dict[int, Set[str]] = {}
    for column in range(token + 1, n_columns):
        values = {row[column] for sent in sentences for row in sent.rows}
        if all(_is_tag(value) for value in values):
            labels[column] = {value[2:] for value in values if value != "O"}
    if tag_columns:
        chosen = [column - 1 for column in tag_columns]
        for column in chosen:
            if not token < column < n_columns:
                raise CorpusError(
                    path, 0, f"--tag-columns between {token + 2} and {n_columns}", str(column + 1)
                )
            _check_tags(path, sentences, column)
        return _Columns(token, chosen)
    last = n_columns - 1
    _check_tags(path, sentences, last)
    layers = [last]
    for column in range(last - 1, token, -1):
        if column not in labels:
            break
        if labels[column] and labels[column] <= CHUNK_LABELS:
            shown = ", ".join(sorted(labels[column])[:5])
            summary.notes.append(
                f"column {column + 1} has syntactic chunk tags ({shown}, ...): not read as "
                "entities (--tag-columns to choose the columns)"
            )
            break
        layers.insert(0, column)
    return _Columns(token, layers)


def _check_tags(path: Path, sentences: List[_Sentence], column: int) -> None:
    for sent in sentences:
        for row, line in zip(sent.rows, sent.lines):
            if not _is_tag(row[column]):
                raise CorpusError(
                    path,
                    line,
                    f"a tag 'O' or PREFIX-LABEL (B-, I-, E-, S-) in column {column + 1}",
                    row[column],
                )


def _group(sentences: List[_Sentence], n_sents: int) -> Iterator[List[_Sentence]]:
    group: List[_Sentence] = []
    for sent in sentences:
        if group and (sent.doc_start or len(group) >= n_sents):
            yield group
            group = []
        group.append(sent)
    if group:
        yield group


def _make_doc(vocab: Vocab, sentences: List[_Sentence], token_column: int) -> Doc:
    words = [row[token_column] for sent in sentences for row in sent.rows]
    sent_starts: List[Optional[bool]] = [
        i == 0 for sent in sentences for i in range(len(sent.rows))
    ]
    return Doc(vocab, words=words, sent_starts=sent_starts)  # type: ignore[arg-type]


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
                    f"'{tag}' to continue an open {label} entity ({scheme.upper()}), but none "
                    f"is open. Use {SCHEME_HINT}",
                    tag,
                )
            summary.repairs.append(f"{where}: '{tag}' with no {label} entity open; started one")
            close(i)
            open_start, open_label = i, label
        if prefix in "SUEL":
            close(i + 1)
    close(len(tags))
    return spans
