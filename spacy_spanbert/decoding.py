"""From span scores to spans: nested (every span above threshold) and flat (no overlaps).

Pure functions over NumPy arrays, so both decodings come from one set of scores.
Scores have one row per candidate span and columns ``["no entity"] + labels``.
"""

from typing import NamedTuple, Tuple, Union

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
    limits = numpy.asarray(threshold, dtype="f")
    if limits.ndim == 0:
        limits = numpy.full((probs.shape[1] - 1,), limits, dtype="f")
    # a label can only reach its threshold where "no entity" leaves it room (up to rounding):
    # the rest, most candidates, are never looked at again
    rows = numpy.flatnonzero(probs[:, 0] <= 1.0 - limits.min() + 1e-5)
    label_probs = probs[rows, 1:]
    best = label_probs.argmax(axis=1)
    best_scores = label_probs[numpy.arange(len(best)), best]
    keep = numpy.flatnonzero(best_scores >= limits[best])
    rows = rows[keep]
    return ScoredSpans(bounds[rows, 0], bounds[rows, 1], best[keep], best_scores[keep], rows)


class DecodedBatch(NamedTuple):
    """A batch's decoded spans. ``spans``: the kept spans in candidate order, doc ``i``'s at
    ``offsets[i]:offsets[i + 1]``; ``flat``: indices into ``spans`` of the flat decoding's,
    doc after doc and by start, doc ``i``'s at ``flat_offsets[i]:flat_offsets[i + 1]``."""

    spans: ScoredSpans
    offsets: numpy.ndarray
    flat: numpy.ndarray
    flat_offsets: numpy.ndarray


def decode_batch(
    bounds: numpy.ndarray,
    probs: numpy.ndarray,
    lengths: numpy.ndarray,
    threshold: Union[float, numpy.ndarray],
) -> DecodedBatch:
    """Nested and flat decoding of a whole batch: ``spans_above_threshold`` over every
    candidate, then the greedy flat decoding for just the spans of docs whose kept spans
    overlap: the highest-scoring span wins any overlap, ties going to the longer span, then
    the earlier one.

    lengths: (n_docs,) candidates per doc; a doc's candidates are contiguous rows, in order.
    """
    kept = spans_above_threshold(bounds, probs, threshold)
    doc = numpy.searchsorted(numpy.cumsum(lengths), kept.rows, side="right")
    doc_ids = numpy.arange(len(lengths) + 1)
    by_start = numpy.lexsort((kept.ends, kept.starts, doc))
    starts, ends, docs = kept.starts[by_start], kept.ends[by_start], doc[by_start]
    clash = (docs[:-1] == docs[1:]) & (ends[:-1] > starts[1:])
    in_flat = numpy.ones(len(doc), dtype=bool)
    if clash.any():
        contested = numpy.flatnonzero(numpy.isin(doc, docs[:-1][clash]))
        in_flat[contested] = False
        in_flat[contested[_greedy(kept, doc, contested)]] = True
    flat = by_start[in_flat[by_start]]
    offsets = numpy.searchsorted(doc, doc_ids)
    return DecodedBatch(kept, offsets, flat, numpy.searchsorted(doc[flat], doc_ids))


def flat_token_tags(
    decoded: DecodedBatch, doc_lengths: numpy.ndarray
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The flat decoding as one tag per token of the batch, doc after doc: IOB codes as spaCy
    stores them (3 begin, 1 inside, 2 outside) and the label index + 1 (0 outside).

    doc_lengths: (n_docs,) tokens per doc. Returns two (sum(doc_lengths),) arrays.
    """
    token_offsets = numpy.concatenate(([0], numpy.cumsum(doc_lengths)))
    n_per_doc = numpy.diff(decoded.flat_offsets)
    shift = numpy.repeat(token_offsets[:-1], n_per_doc)
    starts = decoded.spans.starts[decoded.flat] + shift
    ends = decoded.spans.ends[decoded.flat] + shift
    labels = decoded.spans.labels[decoded.flat] + 1
    # flat spans never overlap: no two share a start, or an end
    opened = numpy.zeros(int(token_offsets[-1]) + 1, dtype="int64")
    closed = numpy.zeros_like(opened)
    opened[starts] = labels
    closed[ends] = labels
    tags = numpy.cumsum(opened - closed)[:-1]
    iob = numpy.where(tags > 0, 1, 2)
    iob[starts] = 3
    return iob, tags


def _greedy(spans: ScoredSpans, doc: numpy.ndarray, subset: numpy.ndarray) -> numpy.ndarray:
    """Positions in ``subset`` (indices of ``spans``, ``doc`` giving each span's doc) of the
    spans that win, doc by doc: by score, then width, then start, each span kept unless it
    overlaps one kept before it in its doc."""
    starts, ends = spans.starts[subset], spans.ends[subset]
    order = numpy.lexsort((starts, starts - ends, -spans.scores[subset], doc[subset]))
    starts_l, ends_l, docs_l = starts.tolist(), ends.tolist(), doc[subset].tolist()
    won = []
    size = max(ends_l, default=0)
    taken = bytearray(size)
    current = None
    for i in order.tolist():
        if docs_l[i] != current:
            current = docs_l[i]
            taken = bytearray(size)
        start, end = starts_l[i], ends_l[i]
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            won.append(i)
    return numpy.array(won, dtype="i")
