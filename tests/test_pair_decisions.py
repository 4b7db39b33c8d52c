"""Single-label relation decisions: grouping, softmax, loss and its gradient."""

import numpy
import pytest

from spacy_spanbert.pair_decisions import (
    decision_groups,
    group_probs,
    logits_from_probs,
    softmax_decisions,
    softmax_loss,
)

# doc 0: e1=(0,1), e2=(3,4) in both directions; doc 1: one ordered pair
KEYS = [(0, 0, 1, 3, 4), (0, 3, 4, 0, 1), (1, 0, 2, 5, 6)]


def test_groups_pair_the_two_directions() -> None:
    assert decision_groups(KEYS, "pair") == [[0, 1], [2]]
    assert decision_groups(KEYS, "directed") == [[0], [1], [2]]


def test_no_relation_is_the_rest_of_the_softmax() -> None:
    logits = numpy.array([[0.0, 1.0], [2.0, -1.0], [0.0, 0.0]])
    probs = group_probs(logits, [0, 1])
    cells = numpy.array([0.0, 0.0, 1.0, 2.0, -1.0])  # "no relation" first, logit 0
    expected = numpy.exp(cells) / numpy.exp(cells).sum()
    assert probs.ravel() == pytest.approx(expected[1:])


def test_pair_decides_one_direction_at_most() -> None:
    logits = numpy.array([[3.0, -5.0], [2.5, -5.0], [-9.0, -9.0]])
    kept = softmax_decisions(logits, decision_groups(KEYS, "pair"), threshold=0.3)
    assert [(row, col) for row, col, _ in kept] == [(0, 0)]  # doc 1: no relation


def test_scaled_rows_decide_with_their_scaled_probability() -> None:
    logits = numpy.array([[3.0, -5.0], [2.5, -5.0], [4.0, -9.0]])
    groups = decision_groups(KEYS, "pair")
    plain = softmax_decisions(logits, groups, threshold=0.3)
    scale = numpy.array([0.5, 0.5, 0.1])
    scaled = softmax_decisions(logits, groups, threshold=0.3, scale=scale)
    assert [(row, col) for row, col, _ in plain] == [(0, 0), (2, 0)]
    assert [(row, col) for row, col, _ in scaled] == [(0, 0)]  # doc 1: 0.1 x 0.98 < 0.3
    assert scaled[0][2] == pytest.approx(plain[0][2] * 0.5)


def test_logits_invert_the_sigmoid() -> None:
    logits = numpy.array([[-2.0, 0.5]])
    assert logits_from_probs(1 / (1 + numpy.exp(-logits))) == pytest.approx(logits)


@pytest.mark.parametrize("targets", [[(1, 1), (-1, -1)], [(-1, -1), (2, 0)]])
def test_loss_gradient_matches_finite_differences(targets) -> None:
    rng = numpy.random.default_rng(0)
    logits = rng.normal(size=(3, 2))
    groups = decision_groups(KEYS, "pair")
    _, d_logits = softmax_loss(logits, groups, targets)
    eps = 1e-6
    numeric = numpy.zeros_like(logits)
    for index in numpy.ndindex(logits.shape):
        shifted = logits.copy()
        shifted[index] += eps
        up = softmax_loss(shifted, groups, targets)[0]
        shifted[index] -= 2 * eps
        numeric[index] = (up - softmax_loss(shifted, groups, targets)[0]) / (2 * eps)
    assert d_logits == pytest.approx(numeric, abs=1e-6)
