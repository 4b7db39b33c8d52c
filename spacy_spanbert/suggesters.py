"""Candidate spans for a whole batch at once.

``spacy_spanbert.ngram_range_suggester.v1`` proposes the same spans, in the same order, as
spaCy's ``spacy.ngram_range_suggester.v1`` (every span of ``min_size`` to ``max_size`` tokens,
per doc by width, then by start), computed for the batch with a few array operations instead
of a Python loop per doc and width.
"""

from typing import Iterable, Optional, cast

import numpy
from spacy.pipeline.spancat import Suggester
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import NumpyOps, Ops
from thinc.types import Ints1d, Ints2d, Ragged


def ngram_spans(lengths: numpy.ndarray, widths: numpy.ndarray) -> numpy.ndarray:
    """(n, 2) rows of (start, end): per doc of ``lengths[i]`` tokens, every span of each
    width in ``widths`` (ascending), by width, then by start."""
    per_block = numpy.maximum(lengths[:, None] - widths[None, :] + 1, 0).ravel()
    total = int(per_block.sum())
    block = numpy.repeat(numpy.arange(len(per_block)), per_block)
    first = numpy.cumsum(per_block) - per_block
    starts = numpy.arange(total) - first[block]
    ends = starts + widths[block % len(widths)]
    return numpy.stack([starts, ends], axis=1).astype("i")


@registry.misc("spacy_spanbert.ngram_range_suggester.v1")
def build_ngram_range_suggester(min_size: int, max_size: int) -> Suggester:
    """Every span of ``min_size`` to ``max_size`` tokens, as spaCy's n-gram range suggester,
    computed for the whole batch at once."""
    widths = numpy.arange(min_size, max_size + 1)

    def suggest(docs: Iterable[Doc], *, ops: Optional[Ops] = None) -> Ragged:
        ops = ops or NumpyOps()
        lengths = numpy.array([len(doc) for doc in docs], dtype="i")
        per_doc = numpy.maximum(lengths[:, None] - widths[None, :] + 1, 0).sum(axis=1)
        spans = ngram_spans(lengths, widths)
        return Ragged(
            ops.asarray2i(cast(Ints2d, spans.reshape((-1, 2)))),
            ops.asarray1i(cast(Ints1d, per_doc.astype("i"))),
        )

    return suggest
