"""The span boundary layer: output matches the unfactored definition; gradients are right."""

import numpy
import pytest
from thinc.api import NumpyOps
from thinc.types import Ragged

from spacy_spanbert.layers import SpanBoundaryEncoder

OPS = NumpyOps()


def make_inputs(seed: int = 0):
    rng = numpy.random.default_rng(seed)
    lengths = numpy.array([4, 3], dtype="i")
    X = rng.normal(size=(7, 5)).astype("f")
    # spans per doc, offsets relative to each doc, end exclusive
    bounds = numpy.array([[0, 1], [1, 4], [0, 4], [0, 2], [2, 3]], dtype="i")
    return Ragged(X, lengths), Ragged(bounds, numpy.array([3, 2], dtype="i"))


def make_layer(use_inside: bool, n_widths: int = 3):
    layer = SpanBoundaryEncoder(nO=6, n_widths=n_widths, use_inside=use_inside)
    layer.initialize(X=make_inputs())
    layer.set_param("b", numpy.full((6,), 0.5, dtype="f"))  # keep most units active
    return layer


@pytest.mark.parametrize("use_inside", [False, True])
def test_output_equals_concatenation_projection(use_inside: bool) -> None:
    layer = make_layer(use_inside)
    tokvecs, spans = make_inputs()
    Y = layer.predict((tokvecs, spans))
    X = tokvecs.dataXd
    doc_offsets = [0, 0, 0, 4, 4]
    for row, ((start, end), offset) in enumerate(zip(spans.dataXd, doc_offsets)):
        s, e = start + offset, end + offset
        h = layer.get_param("W_start") @ X[s] + layer.get_param("W_end") @ X[e - 1]
        h += layer.get_param("E_width")[min(e - s, 3) - 1] + layer.get_param("b")
        if use_inside:
            h += layer.get_param("W_inside") @ X[s:e].mean(axis=0)
        numpy.testing.assert_allclose(Y[row], numpy.maximum(h, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_inside", [False, True])
def test_gradients_match_finite_differences(use_inside: bool) -> None:
    layer = make_layer(use_inside)
    tokvecs, spans = make_inputs()
    rng = numpy.random.default_rng(1)
    dY = rng.normal(size=(5, 6)).astype("f")

    def loss(X) -> float:
        return float((layer.predict((Ragged(X, tokvecs.lengths), spans)) * dY).sum())

    Y, backprop = layer((tokvecs, spans), is_train=True)
    d_tokvecs, _ = backprop(dY)
    X = tokvecs.dataXd.astype("float64")
    eps = 1e-3
    for i, j in [(0, 0), (1, 2), (3, 4), (4, 1), (6, 3)]:
        plus, minus = X.copy(), X.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        numeric = (loss(plus.astype("f")) - loss(minus.astype("f"))) / (2 * eps)
        assert d_tokvecs.dataXd[i, j] == pytest.approx(numeric, rel=2e-2, abs=2e-3)
    for name in layer.param_names:
        if layer.has_param(name):
            assert layer.get_grad(name).shape == layer.get_param(name).shape


def test_no_spans_gives_empty_output() -> None:
    layer = make_layer(use_inside=True)
    tokvecs, _ = make_inputs()
    empty = Ragged(numpy.zeros((0, 2), dtype="i"), numpy.array([0, 0], dtype="i"))
    Y, backprop = layer((tokvecs, empty), is_train=True)
    assert Y.shape == (0, 6)
    d_tokvecs, _ = backprop(Y)
    assert d_tokvecs.dataXd.shape == tokvecs.dataXd.shape and not d_tokvecs.dataXd.any()
