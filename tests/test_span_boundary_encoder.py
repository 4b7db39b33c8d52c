"""The span boundary layer: output matches the unfactored definition; gradients are right."""

import numpy
import pytest
from thinc.api import get_current_ops
from thinc.types import Ragged

from spacy_spanbert.layers import SpanBoundaryEncoder, span_boundary_encoder

OPS = get_current_ops()  # cupy under `pytest --gpu`


def on_device(ragged: Ragged) -> Ragged:
    return Ragged(OPS.asarray(ragged.dataXd), OPS.asarray1i(ragged.lengths))


def make_inputs(seed: int = 0):
    """Token vectors and spans on the host; ``on_device`` moves them."""
    rng = numpy.random.default_rng(seed)
    lengths = numpy.array([4, 3], dtype="i")
    X = rng.normal(size=(7, 5)).astype("f")
    # spans per doc, offsets relative to each doc, end exclusive
    bounds = numpy.array([[0, 1], [1, 4], [0, 4], [0, 2], [2, 3]], dtype="i")
    return Ragged(X, lengths), Ragged(bounds, numpy.array([3, 2], dtype="i"))


def make_layer(use_inside: bool, n_widths: int = 3):
    layer = SpanBoundaryEncoder(nO=6, n_widths=n_widths, use_inside=use_inside)
    layer.initialize(X=tuple(on_device(r) for r in make_inputs()))
    layer.set_param("b", OPS.asarray1f(numpy.full((6,), 0.5, dtype="f")))  # most units active
    return layer


def param(layer, name: str) -> numpy.ndarray:
    return OPS.to_numpy(layer.get_param(name))


@pytest.mark.parametrize("chunk_rows", [1024, 2])  # on CPU, sums are built in chunks of rows
@pytest.mark.parametrize("use_inside", [False, True])
def test_output_equals_concatenation_projection(
    use_inside: bool, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(span_boundary_encoder, "CHUNK_ROWS", chunk_rows)
    layer = make_layer(use_inside)
    tokvecs, spans = make_inputs()
    Y = OPS.to_numpy(layer.predict((on_device(tokvecs), on_device(spans))))
    X = tokvecs.dataXd
    doc_offsets = [0, 0, 0, 4, 4]
    for row, ((start, end), offset) in enumerate(zip(spans.dataXd, doc_offsets)):
        s, e = start + offset, end + offset
        h = param(layer, "W_start") @ X[s] + param(layer, "W_end") @ X[e - 1]
        h += param(layer, "E_width")[min(e - s, 3) - 1] + param(layer, "b")
        if use_inside:
            h += param(layer, "W_inside") @ X[s:e].mean(axis=0)
        numpy.testing.assert_allclose(Y[row], numpy.maximum(h, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_inside", [False, True])
def test_gradients_match_finite_differences(use_inside: bool) -> None:
    layer = make_layer(use_inside)
    tokvecs, spans = make_inputs()
    rng = numpy.random.default_rng(1)
    dY = rng.normal(size=(5, 6)).astype("f")

    def loss(X) -> float:
        Y = layer.predict((on_device(Ragged(X, tokvecs.lengths)), on_device(spans)))
        return float((OPS.to_numpy(Y) * dY).sum())

    Y, backprop = layer((on_device(tokvecs), on_device(spans)), is_train=True)
    d_tokvecs = OPS.to_numpy(backprop(OPS.asarray2f(dY))[0].dataXd)
    X = tokvecs.dataXd.astype("float64")
    eps = 1e-3
    for i, j in [(0, 0), (1, 2), (3, 4), (4, 1), (6, 3)]:
        plus, minus = X.copy(), X.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        numeric = (loss(plus.astype("f")) - loss(minus.astype("f"))) / (2 * eps)
        assert d_tokvecs[i, j] == pytest.approx(numeric, rel=2e-2, abs=2e-3)
    for name in layer.param_names:
        if layer.has_param(name):
            assert layer.get_grad(name).shape == layer.get_param(name).shape


def test_no_spans_gives_empty_output() -> None:
    layer = make_layer(use_inside=True)
    tokvecs = on_device(make_inputs()[0])
    empty = on_device(Ragged(numpy.zeros((0, 2), dtype="i"), numpy.array([0, 0], dtype="i")))
    Y, backprop = layer((tokvecs, empty), is_train=True)
    assert Y.shape == (0, 6)
    d_tokvecs, _ = backprop(Y)
    assert d_tokvecs.dataXd.shape == tokvecs.dataXd.shape and not d_tokvecs.dataXd.any()
