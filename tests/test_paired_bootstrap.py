"""The paired bootstrap the joint benchmark reports its joint-minus-separate intervals with."""

import numpy
import paired_bootstrap as bootstrap  # benchmarks/ (pytest's pythonpath)
import pytest
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.vocab import Vocab


def test_micro_f1_sums_counts_over_documents() -> None:
    counts = numpy.array([[2, 1, 0], [1, 0, 2]])  # tp, fp, fn per document
    assert bootstrap.micro_f1(counts) == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert bootstrap.micro_f1(numpy.zeros((2, 3))) == 0.0


def test_identical_systems_differ_by_exactly_zero() -> None:
    correct = numpy.random.default_rng(0).integers(0, 2, size=200)
    result = bootstrap.paired_bootstrap(bootstrap.accuracy, correct, correct)
    assert result == {"difference": 0.0, "ci95_low": 0.0, "ci95_high": 0.0}


def test_interval_excludes_zero_only_for_a_clear_difference() -> None:
    rng = numpy.random.default_rng(0)
    b = rng.integers(0, 2, size=500)
    clearly_better = numpy.where(rng.random(500) < 0.3, 1, b)  # ~15 points better
    one_more = b.copy()
    one_more[numpy.flatnonzero(b == 0)[0]] = 1  # one document better
    strong = bootstrap.paired_bootstrap(bootstrap.accuracy, clearly_better, b)
    weak = bootstrap.paired_bootstrap(bootstrap.accuracy, one_more, b)
    assert 0 < strong["ci95_low"] <= strong["difference"] <= strong["ci95_high"]
    assert weak["difference"] == pytest.approx(1 / 500, abs=1e-4)
    assert weak["ci95_low"] <= 0 <= weak["ci95_high"]


def test_unpaired_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same documents"):
        bootstrap.paired_bootstrap(bootstrap.accuracy, numpy.ones(3), numpy.ones(4))


def test_pooled_seeds_score_as_all_their_predictions_together() -> None:
    rng = numpy.random.default_rng(0)
    correct = [rng.integers(0, 2, size=50) for _ in range(3)]
    pooled = bootstrap.pooled_over_seeds(bootstrap.accuracy, correct)
    assert bootstrap.accuracy(pooled) == pytest.approx(numpy.mean([c.mean() for c in correct]))
    counts = [rng.integers(0, 4, size=(50, 3)) for _ in range(2)]
    pooled = bootstrap.pooled_over_seeds(bootstrap.micro_f1, counts)
    assert bootstrap.micro_f1(pooled) == pytest.approx(
        bootstrap.micro_f1(numpy.concatenate(counts))
    )
    with pytest.raises(ValueError, match="no pooling"):
        bootstrap.pooled_over_seeds(lambda records: records.mean(axis=-1), correct)


def test_span_counts_need_exact_boundaries_and_label() -> None:
    words = ["IL-2", "gene", "expression", "in", "T", "cells"]
    gold = Doc(Vocab(), words=words)
    gold.spans["sc"] = [Span(gold, 0, 1, "protein"), Span(gold, 0, 2, "DNA"), Span(gold, 4, 6, "x")]
    pred = Doc(gold.vocab, words=words)
    pred.spans["sc"] = [Span(pred, 0, 1, "protein"), Span(pred, 0, 2, "RNA"), Span(pred, 4, 5, "x")]
    empty = Doc(gold.vocab, words=words)
    counts = bootstrap.span_counts([Example(pred, gold), Example(empty, gold)], "sc")
    assert counts.tolist() == [[1, 2, 2], [0, 0, 3]]
