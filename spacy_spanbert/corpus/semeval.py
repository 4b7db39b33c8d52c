"""SemEval-2010 Task 8 -> Docs with two entities and the relation between them.

The distributed text format, four lines per example (CRLF line endings in the release)::

    8001<TAB>"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
    Message-Topic(e1,e2)
    Comment: Assuming an audit = an audit document.
    <blank line>

The sentence is tokenized by the pipeline's tokenizer once the markers are removed; the two
mentions become ``doc.ents`` (label ``entity_label``). ``Type(e1,e2)`` is a relation ``Type``
from e1 to e2, ``Type(e2,e1)`` from e2 to e1, and ``Other`` is no relation (counted in the
summary). Errors name the file and line.
"""

import re
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span

from ..relations import Relation, set_relations
from .errors import CorpusError, read_lines
from .summary import CorpusSummary

SENTENCE_RE = re.compile(r'^\s*(?P<id>\d+)\s+"(?P<text>.*)"\s*$')
LABEL_RE = re.compile(r"^(?P<type>[\w-]+)\((?P<dir>e1,e2|e2,e1)\)$")
MARKER_RE = re.compile(r"</?e[12]>")
NO_RELATION = "Other"


def read_semeval(
    path: Union[str, Path],
    make_doc: Callable[[str], Doc],
    *,
    entity_label: str = "ENTITY",
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a SemEval-2010 Task 8 file; one Doc per example, its id in ``doc.user_data``."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    lines = [(no, line) for no, line in read_lines(path) if line.strip()]
    docs = []
    no_relation = 0
    i = 0
    while i < len(lines):
        line_no, line = lines[i]
        match = SENTENCE_RE.match(line)
        if not match:
            raise CorpusError(
                path, line_no, 'ID<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"', line[:80]
            )
        if i + 1 >= len(lines):
            raise CorpusError(path, line_no + 1, "a relation label line after the sentence")
        label_no, label = lines[i + 1][0], lines[i + 1][1].strip()
        doc, e1, e2 = _make_doc(path, line_no, match.group("text"), make_doc, entity_label)
        doc.user_data["id"] = match.group("id")
        if label == NO_RELATION:
            no_relation += 1
        else:
            parsed = LABEL_RE.match(label)
            if not parsed:
                raise CorpusError(
                    path, label_no, "a label such as Cause-Effect(e2,e1) or Other", label
                )
            head, tail = (e1, e2) if parsed.group("dir") == "e1,e2" else (e2, e1)
            set_relations(doc, [Relation(head, parsed.group("type"), tail)])
            summary.relations[parsed.group("type")] += 1
        summary.count_doc(doc)
        docs.append(doc)
        i += 2
        if i < len(lines) and lines[i][1].lstrip().startswith("Comment:"):
            i += 1
    if no_relation:
        summary.notes.append(f"{no_relation} examples labelled {NO_RELATION}: no relation")
    return docs


def _make_doc(
    path: Path, line_no: int, marked: str, make_doc: Callable[[str], Doc], entity_label: str
) -> Tuple[Doc, Span, Span]:
    """The sentence without its markers, its mentions as ``doc.ents``; and e1, e2."""
    text = ""
    offsets = {}
    position = 0
    for marker in MARKER_RE.finditer(marked):
        text += marked[position : marker.start()]
        offsets[marker.group()] = len(text)
        position = marker.end()
    text += marked[position:]
    if set(offsets) != {"<e1>", "</e1>", "<e2>", "</e2>"}:
        raise CorpusError(
            path, line_no, "one <e1>..</e1> and one <e2>..</e2> marker pair", marked[:80]
        )
    doc = make_doc(text)
    spans: List[Tuple[int, int]] = [
        (offsets["<e1>"], offsets["</e1>"]),
        (offsets["<e2>"], offsets["</e2>"]),
    ]
    ents: List[Span] = []
    for start, end in spans:
        span = doc.char_span(start, end, label=entity_label, alignment_mode="expand")
        if span is None or not len(span):
            raise CorpusError(path, line_no, "non-empty <e1> and <e2> mentions", marked[:80])
        ents.append(span)
    if ents[0].end > ents[1].start and ents[1].end > ents[0].start:
        raise CorpusError(path, line_no, "<e1> and <e2> mentions that do not overlap", marked[:80])
    doc.ents = sorted(ents, key=lambda span: span.start)
    return doc, ents[0], ents[1]
