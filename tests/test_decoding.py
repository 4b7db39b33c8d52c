"""Flat and nested decoding from one set of span scores."""

import numpy

from spacy_spanbert.decoding import non_overlapping, spans_above_threshold

BOUNDS = numpy.array([[0, 3], [1, 2], [2, 4], [5, 6]], dtype="i")
# columns: no-entity, A, B
PROBS = numpy.array(
    [[0.1, 0.8, 0.1], [0.05, 0.05, 0.9], [0.3, 0.6, 0.1], [0.6, 0.2, 0.2]], dtype="f"
)


def test_nested_keeps_every_span_above_threshold() -> None:
    kept = spans_above_threshold(BOUNDS, PROBS, 0.5)
    assert list(zip(kept.starts, kept.ends, kept.labels)) == [(0, 3, 0), (1, 2, 1), (2, 4, 0)]
    numpy.testing.assert_allclose(kept.scores, [0.8, 0.9, 0.6])


def test_threshold_is_inclusive_and_configurable() -> None:
    assert len(spans_above_threshold(BOUNDS, PROBS, 0.9).starts) == 1
    assert len(spans_above_threshold(BOUNDS, PROBS, 0.2).starts) == 4


def test_flat_highest_score_wins_overlaps() -> None:
    flat = non_overlapping(spans_above_threshold(BOUNDS, PROBS, 0.5))
    # (1,2) scores 0.9 and beats (0,3) and... (2,4) does not overlap (1,2)
    assert list(zip(flat.starts, flat.ends)) == [(1, 2), (2, 4)]


def test_flat_tie_goes_to_longer_span() -> None:
    bounds = numpy.array([[0, 1], [0, 2]], dtype="i")
    probs = numpy.array([[0.2, 0.8], [0.2, 0.8]], dtype="f")
    flat = non_overlapping(spans_above_threshold(bounds, probs, 0.5))
    assert list(zip(flat.starts, flat.ends)) == [(0, 2)]


def test_empty_inputs() -> None:
    kept = spans_above_threshold(
        numpy.zeros((0, 2), dtype="i"), numpy.zeros((0, 3), dtype="f"), 0.5
    )
    assert len(kept.starts) == 0 and len(non_overlapping(kept).starts) == 0
