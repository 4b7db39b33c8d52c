"""Intent + slot data (SNIPS / ATIS in JointBERT's layout) -> ``doc.cats`` + slot spans.

A split folder holds ``seq.in`` (tokens), ``seq.out`` (one BIO slot tag per token) and
``label`` (the intent; ATIS joins several with ``#``). Slots go into ``doc.spans[spans_key]``
and ``doc.ents`` (they never overlap); each intent seen becomes a cat (1.0 if present,
0.0 otherwise). A multi-intent line is either several cats (multi-label, for independent
sigmoids) or, with ``combine_intents``, one cat naming the set (``a#b``, intents sorted, so
``b#a`` is the same label), so that every utterance has exactly one label, as a softmax
classifier (``exclusive_classes``) needs.
"""

from pathlib import Path
from typing import List, Optional, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .conll import decode_tags
from .errors import CorpusError, read_lines
from .summary import CorpusSummary


def read_intent_slots(
    directory: Union[str, Path],
    vocab: Vocab,
    *,
    spans_key: str = "sc",
    intents: Optional[List[str]] = None,
    lenient: bool = False,
    combine_intents: bool = False,
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read ``seq.in``/``seq.out``/``label`` from ``directory``; one Doc per utterance.

    intents: the full intent label set (so every doc has every cat); default: those seen.
    combine_intents: one cat per ``label`` line (``a#b`` is one label), not one per intent.
    """
    directory = Path(directory)
    summary = summary if summary is not None else CorpusSummary(str(directory))
    files = {name: directory / name for name in ("seq.in", "seq.out", "label")}
    for name, path in files.items():
        if not path.is_file():
            raise CorpusError(path, 0, f"a '{name}' file in {directory}")
    lines = {name: [text for _, text in read_lines(path)] for name, path in files.items()}
    n_in = len(lines["seq.in"])
    for name in ("seq.out", "label"):
        if len(lines[name]) != n_in:
            raise CorpusError(
                files[name],
                min(len(lines[name]), n_in) + 1,
                f"{n_in} lines, as in seq.in",
                f"{len(lines[name])} lines",
            )

    def intents_of(label: str) -> List[str]:
        return [combined_intent(label)] if combine_intents else label.split("#")

    all_intents = sorted(
        set(intents or []) | {i for lab in lines["label"] for i in intents_of(lab)}
    )
    docs = []
    for i, (words, tags, label) in enumerate(
        zip(lines["seq.in"], lines["seq.out"], lines["label"])
    ):
        words_list, tags_list = words.split(), tags.split()
        if len(words_list) != len(tags_list):
            raise CorpusError(
                files["seq.out"],
                i + 1,
                f"{len(words_list)} tags, one per token of seq.in line {i + 1}",
                f"{len(tags_list)} tags",
            )
        doc = Doc(vocab, words=words_list)
        spans = decode_tags(
            tags_list, "iob2", files["seq.out"], [i + 1] * len(tags_list), lenient, summary
        )
        doc.spans[spans_key] = [Span(doc, s, e, label=lab) for s, e, lab in spans]
        doc.ents = list(doc.spans[spans_key])
        present = set(intents_of(label))
        doc.cats = {intent: float(intent in present) for intent in all_intents}
        summary.count_doc(doc, spans_key=spans_key)
        docs.append(doc)
    return docs


def combined_intent(label: str) -> str:
    """The one label of a ``label`` line whose intents are taken together: ``b#a`` -> ``a#b``."""
    return "#".join(sorted(set(label.split("#"))))
