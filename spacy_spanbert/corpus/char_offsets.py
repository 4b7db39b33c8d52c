"""Character offsets from annotation tools onto spaCy tokens.

Tools store spans as character offsets into a text; spaCy spans are token ranges. An offset
that falls inside a token is the classic silent loss, so the default (``strict``) is an error
naming the annotation; ``expand`` and ``contract`` snap to token boundaries as
``Doc.char_span``'s ``alignment_mode`` does, and every span that moved is counted.
"""

import math
import re
from typing import Any, Callable, List, Optional

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .summary import CorpusSummary

ALIGNMENTS = ("strict", "expand", "contract")
WHITESPACE = re.compile(r"\s+")


def as_offset(value: Any) -> int:
    """A character or token offset from a tool's file: an int (an integral float such as
    ``5.0`` too); anything else (``1.7``, ``1e400``, ``"5"``, ``true``) is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"an integer offset, found {value!r}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"an integer offset, found {value!r}")
    return int(value)


def whitespace_tokens(vocab: Vocab) -> Callable[[str], Doc]:
    """``make_doc`` for text that is tokenized already: tokens are split on whitespace only,
    and ``doc.text`` is the text unchanged (runs of whitespace other than one space become
    whitespace tokens, as spaCy's tokenizer makes them)."""

    def make_doc(text: str) -> Doc:
        words: List[str] = []
        spaces: List[bool] = []
        position = 0
        for match in WHITESPACE.finditer(text):
            if match.start() > position:
                words.append(text[position : match.start()])
                spaces.append(False)
            run = match.group()
            if words and words[-1].strip() and run.startswith(" "):
                spaces[-1] = True
                run = run[1:]
            if run:
                words.append(run)
                spaces.append(False)
            position = match.end()
        if position < len(text):
            words.append(text[position:])
            spaces.append(False)
        return Doc(vocab, words=words, spaces=spaces)

    return make_doc


def char_span(
    doc: Doc,
    start: int,
    end: int,
    label: str,
    *,
    alignment: str,
    summary: CorpusSummary,
    describe: Callable[[], str],
) -> Optional[Span]:
    """The span of characters ``start:end`` as tokens, or None where ``contract`` leaves no
    token of it (counted). ``describe()`` names the annotation in the error raised when the
    offsets are outside the text or, with ``strict``, not on token boundaries."""
    if not 0 <= start < end <= len(doc.text):
        raise OffsetError(
            f"{describe()} within the text's {len(doc.text)} characters (0 <= start < end)",
            f"start={start}, end={end}",
        )
    span = doc.char_span(start, end, label=label)
    if span is not None:
        return span
    if alignment == "strict":
        raise OffsetError(
            f"{describe()} on token boundaries (or --alignment expand|contract)",
            f"{doc.text[start:end]!r} at characters {start}-{end}, inside a token",
        )
    span = doc.char_span(start, end, label=label, alignment_mode=alignment)
    if span is None or not span.text.strip():
        summary.skipped[f"spans with no whole token inside (--alignment {alignment})"] += 1
        return None
    summary.changed[f"spans moved to token boundaries (--alignment {alignment})"] += 1
    return span


class OffsetError(ValueError):
    """Offsets that don't fit the text: what was expected and what was found; the reader
    adds the file and the line or record."""

    def __init__(self, expected: str, found: str) -> None:
        self.expected = expected
        self.found = found
        super().__init__(f"expected {expected}; found {found}")


def utf16_to_code_points(text: str) -> Optional[List[int]]:
    """For a text with characters outside the Basic Multilingual Plane (emoji), the code
    point index of each UTF-16 code unit offset (``len`` + 1 entries); None for other texts,
    where the two offsets agree."""
    if all(ord(char) <= 0xFFFF for char in text):
        return None
    index: List[int] = []
    for i, char in enumerate(text):
        index.extend([i, i] if ord(char) > 0xFFFF else [i])
    index.append(len(text))
    return index
