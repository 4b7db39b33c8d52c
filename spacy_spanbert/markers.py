"""Entity markers for relation encoders (Zhou & Chen 2021; PURE; PL-Marker), as text.

Three kinds of markers (``markers``):

- ``typed``: punctuation with the entity labels written in, the head as
  ``@ * type * head words @`` and the tail as ``# ^ type ^ tail words #``; every tokenizer
  family reads them without new vocabulary;
- ``untyped``: ``@ head words @`` and ``# tail words #``;
- ``typed_tokens``: one new vocabulary entry per marker, ``[H:type] head words [/H]`` and
  ``[T:type] tail words [/T]`` (PURE's typed marker tokens), each embedding starting as the
  mean of its ``typed`` form's wordpieces (:func:`marker_vocabulary`). The types of
  ``typed`` in four wordpieces a pair instead of about ten.

A pair is represented by the encoder's hidden states at the head's and the tail's opening
marker.

- solid: the markers are written into a window of the text around the pair, one encoder
  sequence per pair (:func:`solid_text`);
- levitated: the text is encoded once, and each pair's markers are appended after it, sharing
  the position ids of the spans' boundary wordpieces (:func:`levitated_markers`);
- packed: one sequence per head entity, the head's markers written into the text
  (:func:`solid_head_text`) and each of its tails' markers levitated after it.
"""

from typing import Dict, Iterable, List, Sequence, Tuple

MARKER_MODES = ("typed", "untyped", "typed_tokens")
PASS_MODES = ("solid", "levitated", "packed")
HEAD, TAIL = "@", "#"
HEAD_TYPE, TAIL_TYPE = "*", "^"
UNKNOWN_TYPE = "entity"

# (start, end, type) of the head and of the tail, in token offsets (end exclusive)
SpanType = Tuple[int, int, str]


def type_text(label: str) -> str:
    """How an entity label is written inside a typed marker: ``ORG_NAME`` -> ``org name``."""
    return label.replace("_", " ").replace("-", " ").lower().strip() or UNKNOWN_TYPE


def pair_markers(head_type: str, tail_type: str, markers: str) -> Dict[str, str]:
    """The text of a pair's four markers, by role: head_start, head_end, tail_start,
    tail_end."""
    if markers == "typed_tokens":
        return {
            "head_start": f"[H:{head_type}]",
            "head_end": "[/H]",
            "tail_start": f"[T:{tail_type}]",
            "tail_end": "[/T]",
        }
    typed = markers == "typed"
    return {
        "head_start": f"{HEAD} {HEAD_TYPE} {type_text(head_type)} {HEAD_TYPE}" if typed else HEAD,
        "head_end": HEAD,
        "tail_start": f"{TAIL} {TAIL_TYPE} {type_text(tail_type)} {TAIL_TYPE}" if typed else TAIL,
        "tail_end": TAIL,
    }


def marker_vocabulary(entity_labels: Iterable[str]) -> List[Tuple[str, str]]:
    """The ``typed_tokens`` markers for these entity labels (and for an unknown type), each
    with the ``typed`` text whose wordpieces' mean embedding it starts from."""
    vocabulary: Dict[str, str] = {}
    for label in [*entity_labels, UNKNOWN_TYPE]:
        tokens = pair_markers(label, label, "typed_tokens")
        punctuation = pair_markers(label, label, "typed")
        vocabulary.update({tokens[role]: punctuation[role] for role in tokens})
    return list(vocabulary.items())


def solid_text(
    words: Sequence[str], spaces: Sequence[bool], head: SpanType, tail: SpanType, markers: str
) -> Tuple[str, int, int]:
    """The words (with their trailing spaces) with the pair's markers written in.

    Returns the text and the character offsets of the head's and the tail's opening marker.
    Head and tail may nest or overlap: at a word boundary closing markers come before opening
    ones, and of two spans opening at the same word the longer one opens first.
    """
    texts = pair_markers(head[2], tail[2], markers)
    spans = sorted(
        [
            (head[0], head[1], "head", texts["head_start"], texts["head_end"]),
            (tail[0], tail[1], "tail", texts["tail_start"], texts["tail_end"]),
        ],
        key=lambda span: (span[0], -span[1], span[2] == "tail"),
    )
    text, openings, _ = write_markers(words, spaces, [(s, e, o, c) for s, e, _, o, c in spans])
    by_role = {span[2]: opening for span, opening in zip(spans, openings)}
    return text, by_role["head"], by_role["tail"]


def solid_head_text(
    words: Sequence[str], spaces: Sequence[bool], head: SpanType, markers: str
) -> Tuple[str, int, List[Tuple[int, int]]]:
    """The words with the head's markers written in (``packed``: the tails' markers are
    levitated). Returns the text, the character offset of the head's opening marker, and
    each word's (start, end) characters in the text."""
    texts = pair_markers(head[2], head[2], markers)
    text, [opening], word_chars = write_markers(
        words, spaces, [(head[0], head[1], texts["head_start"], texts["head_end"])]
    )
    return text, opening, word_chars


def write_markers(
    words: Sequence[str], spaces: Sequence[bool], spans: Sequence[Tuple[int, int, str, str]]
) -> Tuple[str, List[int], List[Tuple[int, int]]]:
    """The words with each span's (start, end, opening, closing) markers written in, spans
    opening at the same word in the given order. Returns the text, the character offset of
    each span's opening marker, and each word's (start, end) characters in the text."""
    parts: List[str] = []
    length = 0
    openings = [0] * len(spans)
    word_chars = []

    def add(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text)

    for i in range(len(words) + 1):
        for _, end, _, closing in reversed(spans):
            if end == i:
                add(f"{closing} " if parts[-1].endswith(" ") else f" {closing} ")
        for k, (start, _, opening, _) in enumerate(spans):
            if start == i:
                if parts and not parts[-1].endswith(" "):
                    add(" ")
                openings[k] = length
                add(f"{opening} ")
        if i < len(words):
            word_chars.append((length, length + len(words[i])))
            add(words[i] + (" " if spaces[i] else ""))
    return "".join(parts).rstrip(), openings, word_chars


def levitated_markers(head_type: str, tail_type: str, markers: str) -> List[Tuple[str, str]]:
    """A pair's levitated markers as (role, text) in order: the head's opening and closing
    marker, then the tail's; role is one of head_start, head_end, tail_start, tail_end."""
    return list(pair_markers(head_type, tail_type, markers).items())
