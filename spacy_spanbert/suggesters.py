"""Candidate spans for a whole batch at once.

``spacy_spanbert.ngram_range_suggester.v1`` proposes the same spans, in the same order, as
spaCy's ``spacy.ngram_range_suggester.v1`` (every span of ``min_size`` to ``max_size`` tokens,
per doc by width, then by start). The spans of a doc depend only on its length, so they are
made once per length (cached for lengths up to ``CACHED_LENGTH``) and a batch's candidates are
one concatenation, instead of a few small arrays per doc and width.
"""

from functools import lru_cache
from typing import Iterable, Optional, cast

import numpy
from spacy.pipeline.spancat import Suggester
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import NumpyOps, Ops
from thinc.types import Ints1d, Ints2d, Ragged

CACHED_LENGTH = 512  # docs up to this many tokens share their spans' array
CACHED_LENGTHS = 256  # distinct lengths kept


def ngram_spans(length: int, widths: numpy.ndarray) -> numpy.ndarray:
    """(n, 2) int32 rows of (start, end): every span of a ``length``-token doc of each width
    in ``widths`` (ascending), by width, then by start."""
    starts = [numpy.arange(length - width + 1) for width in widths.tolist()]
    counts = [len(block) for block in starts]
    begin = numpy.concatenate(starts) if starts else numpy.zeros((0,), dtype="i")
    end = begin + numpy.repeat(widths, counts)
    return numpy.stack([begin, end], axis=1).astype("i")


@registry.misc("spacy_spanbert.ngram_range_suggester.v1")
def build_ngram_range_suggester(min_size: int, max_size: int) -> Suggester:
    """Every span of ``min_size`` to ``max_size`` tokens, as spaCy's n-gram range suggester,
    computed for the whole batch at once."""
    widths = numpy.arange(min_size, max_size + 1)

    @lru_cache(maxsize=CACHED_LENGTHS)
    def cached_spans(length: int) -> numpy.ndarray:
        spans = ngram_spans(length, widths)
        spans.flags.writeable = False
        return spans

    def suggest(docs: Iterable[Doc], *, ops: Optional[Ops] = None) -> Ragged:
        ops = ops or NumpyOps()
        per_doc = [
            cached_spans(len(doc)) if len(doc) <= CACHED_LENGTH else ngram_spans(len(doc), widths)
            for doc in docs
        ]
        spans = numpy.concatenate(per_doc) if per_doc else numpy.zeros((0, 2), dtype="i")
        lengths = numpy.array([len(doc_spans) for doc_spans in per_doc], dtype="i")
        return Ragged(ops.asarray2i(cast(Ints2d, spans)), ops.asarray1i(cast(Ints1d, lengths)))

    return suggest
