"""From span scores to spans: nested (every span above threshold) and flat (no overlaps).

Pure functions over NumPy arrays, so both decodings come from one set of scores.
Scores have one row per candidate span and columns ``["no entity"] + labels``.
"""

from typing import NamedTuple, Union

import numpy


class ScoredSpans(NamedTuple):
    """Spans kept from one doc: token offsets (end exclusive), label index, score."""

    starts: numpy.ndarray
    ends: numpy.ndarray
    labels: numpy.ndarray
    scores: numpy.ndarray


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
        return ScoredSpans(empty, empty, empty, numpy.zeros((0,), dtype="f"))
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
    )


def non_overlapping(spans: ScoredSpans) -> ScoredSpans:
    """Greedy flat decoding: the highest-scoring span wins any overlap.

    Ties go to the longer span, then the earlier one. The result is sorted by start.
    """
    if len(spans.starts) == 0:
        return spans
    widths = spans.ends - spans.starts
    order = numpy.lexsort((spans.starts, -widths, -spans.scores))
    taken = numpy.zeros((int(spans.ends.max()),), dtype=bool)
    kept = []
    for i in order:
        start, end = spans.starts[i], spans.ends[i]
        if not taken[start:end].any():
            taken[start:end] = True
            kept.append(i)
    kept_idx = numpy.array(sorted(kept, key=lambda i: spans.starts[i]), dtype="i")
    return ScoredSpans(*(field[kept_idx] for field in spans))
