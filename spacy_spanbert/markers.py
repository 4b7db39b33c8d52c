"""Entity markers for relation encoders (Zhou & Chen 2021; PURE; PL-Marker), as text.

Markers are written in punctuation, so every tokenizer family reads them without new
vocabulary: the head as ``@ * type * head words @`` and the tail as ``# ^ type ^ tail words #``
(typed), or ``@ head words @`` and ``# tail words #`` (untyped). A pair is represented by the
encoder's hidden states at the head's and the tail's opening marker (``@``, ``#``).

- solid: the markers are written into a window of the text around the pair, one encoder
  sequence per pair (:func:`solid_text`);
- levitated: the text is encoded once, and each pair's markers are appended after it, sharing
  the position ids of the spans' boundary wordpieces (:func:`levitated_markers`).
"""

from typing import List, Sequence, Tuple

MARKER_MODES = ("typed", "untyped")
PASS_MODES = ("solid", "levitated")
HEAD, TAIL = "@", "#"
HEAD_TYPE, TAIL_TYPE = "*", "^"

# (start, end, type) of the head and of the tail, in token offsets (end exclusive)
SpanType = Tuple[int, int, str]


def type_text(label: str) -> str:
    """How an entity label is written inside a typed marker: ``ORG_NAME`` -> ``org name``."""
    return label.replace("_", " ").replace("-", " ").lower().strip() or "entity"


def opening_markers(head_type: str, tail_type: str, typed: bool) -> Tuple[str, str]:
    """The head's and the tail's opening marker text."""
    if not typed:
        return HEAD, TAIL
    return (
        f"{HEAD} {HEAD_TYPE} {type_text(head_type)} {HEAD_TYPE}",
        f"{TAIL} {TAIL_TYPE} {type_text(tail_type)} {TAIL_TYPE}",
    )


def solid_text(
    words: Sequence[str], spaces: Sequence[bool], head: SpanType, tail: SpanType, typed: bool
) -> Tuple[str, int, int]:
    """The words (with their trailing spaces) with the pair's markers written in.

    Returns the text and the character offsets of the head's and the tail's opening marker.
    Head and tail may nest or overlap: at a word boundary closing markers come before opening
    ones, and of two spans opening at the same word the longer one opens first.
    """
    head_open, tail_open = opening_markers(head[2], tail[2], typed)
    spans = sorted(
        [(head[0], head[1], HEAD, head_open), (tail[0], tail[1], TAIL, tail_open)],
        key=lambda span: (span[0], -span[1], span[2] == TAIL),
    )
    parts: List[str] = []
    length = 0
    openings = {}

    def add(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text)

    for i in range(len(words) + 1):
        for _, end, marker, _ in reversed(spans):
            if end == i:
                add(f"{marker} " if parts[-1].endswith(" ") else f" {marker} ")
        for start, _, marker, opening in spans:
            if start == i:
                if parts and not parts[-1].endswith(" "):
                    add(" ")
                openings[marker] = length
                add(f"{opening} ")
        if i < len(words):
            add(words[i] + (" " if spaces[i] else ""))
    text = "".join(parts).rstrip()
    return text, openings[HEAD], openings[TAIL]


def levitated_markers(head_type: str, tail_type: str, typed: bool) -> List[Tuple[str, str]]:
    """A pair's levitated markers as (role, text) in order: the head's opening and closing
    marker, then the tail's; role is one of head_start, head_end, tail_start, tail_end."""
    head_open, tail_open = opening_markers(head_type, tail_type, typed)
    return [
        ("head_start", head_open),
        ("head_end", HEAD),
        ("tail_start", tail_open),
        ("tail_end", TAIL),
    ]
