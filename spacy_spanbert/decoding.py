"""From span scores to spans: nested (every span above threshold) and flat (no overlaps).

Pure functions over NumPy arrays, so both decodings come from one set of scores.
Scores have one row per candidate span and columns ``["no entity"] + labels``.
"""

from typing import List, NamedTuple, Union

import numpy


class ScoredSpans(NamedTuple):
    """Kept spans: token offsets (end exclusive), label index, score, and the row of the
    candidate each came from."""

    starts: numpy.ndarray
    ends: numpy.ndarray
    labels: numpy.ndarray
    scores: numpy.ndarray
    rows: numpy.ndarray


def spans_above_threshold(
    bounds: numpy.ndarray, probs: numpy.ndarray, threshold: Union[float, numpy.ndarray]
) -> ScoredSpans:
    """Keep each candidate whose best entity label has probability >= that label's threshold.

    bounds: (n, 2) rows of (start, end). probs: (n, 1 + n_labels), column 0 = no entity.
    threshold: one for every label, or (n_labels,) one per label.
    The label index returned counts entity labels only (column - 1).
    """
    if probs.shape[0] == 0:
        empty = numpy.zeros((0,), dtype="i")
        return ScoredSpans(empty, empty, empty, numpy.zeros((0,), dtype="f"), empty)
    label_probs = probs[:, 1:]
    best = label_probs.argmax(axis=1)
    best_scores = label_probs[numpy.arange(len(best)), best]
    limits = numpy.broadcast_to(numpy.asarray(threshold, dtype="f"), (label_probs.shape[1],))
    keep = numpy.flatnonzero(best_scores >= limits[best])
    return ScoredSpans(
        bounds[keep, 0].astype("i"),
        bounds[keep, 1].astype("i"),
        best[keep].astype("i"),
        best_scores[keep].astype("f"),
        keep.astype("i"),
    )


def by_doc(spans: ScoredSpans, lengths: numpy.ndarray) -> List[ScoredSpans]:
    """A batch's kept spans split by doc; ``lengths``: (n_docs,) candidates per doc, in the
    order of the candidate rows."""
    cuts = numpy.searchsorted(spans.rows, numpy.cumsum(lengths)[:-1])
    return [ScoredSpans(*fields) for fields in zip(*(numpy.split(f, cuts) for f in spans))]


def non_overlapping(spans: ScoredSpans) -> numpy.ndarray:
    """Greedy flat decoding of one doc's spans: the highest-scoring span wins any overlap.

    Ties go to the longer span, then the earlier one. Returns the indices of the spans
    kept, in order of their starts.
    """
    by_start = numpy.lexsort((spans.ends, spans.starts))
    if (spans.ends[by_start[:-1]] <= spans.starts[by_start[1:]]).all():
        return by_start  # nothing overlaps (the usual case)
    widths = spans.ends - spans.starts
    order = numpy.lexsort((spans.starts, -widths, -spans.scores))
    taken = numpy.zeros((int(spans.ends.max()),), dtype=bool)
    kept = []
    for i in order.tolist():
        start, end = spans.starts[i], spans.ends[i]
        if not taken[start:end].any():
            taken[start:end] = True
            kept.append(i)
    return numpy.array(sorted(kept, key=lambda i: spans.starts[i]), dtype="i")
