"""The pair layer of spanbert_rel: entity-type embeddings join the span encodings."""

import numpy
import pytest
from thinc.api import get_current_ops
from thinc.types import Ragged

from spacy_spanbert.layers import PairEncoder


def make_inputs(types):
    """Token vectors and pair rows on the current device (``pytest --gpu``: cupy)."""
    ops = get_current_ops()
    rng = numpy.random.default_rng(0)
    lengths = ops.asarray1i(numpy.array([4, 3], dtype="i"))
    tokvecs = Ragged(ops.asarray2f(rng.normal(size=(7, 5)).astype("f")), lengths)
    rows = [[0, 1, 2, 4], [2, 4, 0, 1], [0, 1, 2, 3]]
    pairs = numpy.array([r + list(t) for r, t in zip(rows, types)], dtype="i")
    return tokvecs, Ragged(ops.asarray2i(pairs), ops.asarray1i(numpy.array([2, 1], dtype="i")))


def make_layer(type_width: int = 3):
    layer = PairEncoder(nO=4, n_widths=2, type_width=type_width)
    if type_width:
        layer.set_dim("n_types", 3)  # two entity labels + unknown
    layer.initialize(X=make_inputs([(1, 2)] * 3))
    return layer


def test_type_embeddings_are_appended_per_role() -> None:
    layer = make_layer()
    Y = layer.ops.to_numpy(layer.predict(make_inputs([(1, 2), (2, 1), (0, 9)])))
    assert Y.shape == (3, 3 * 4 + 2 * 3) == (3, layer.get_dim("nO"))
    E = layer.ops.to_numpy(layer.get_param("E_type"))
    numpy.testing.assert_allclose(Y[0, 12:], numpy.concatenate([E[1], E[2]]))
    numpy.testing.assert_allclose(Y[1, 12:], numpy.concatenate([E[2], E[1]]))
    # an id the table has no row for (a label not seen at initialize) is unknown: row 0
    numpy.testing.assert_allclose(Y[2, 12:], numpy.concatenate([E[0], E[0]]))


def test_without_types_the_type_columns_are_ignored() -> None:
    layer = make_layer(type_width=0)
    Y1 = layer.ops.to_numpy(layer.predict(make_inputs([(1, 2)] * 3)))
    Y2 = layer.ops.to_numpy(layer.predict(make_inputs([(2, 0)] * 3)))
    assert Y1.shape == (3, 12) and not layer.has_param("E_type")
    numpy.testing.assert_array_equal(Y1, Y2)


def test_type_embedding_gradient() -> None:
    layer = make_layer()
    inputs = make_inputs([(1, 2), (1, 1), (0, 2)])
    dY = numpy.random.default_rng(1).normal(size=(3, 18)).astype("f")
    _, backprop = layer(inputs, is_train=True)
    backprop(layer.ops.asarray2f(dY))
    expected = numpy.zeros((3, 3), dtype="f")
    for row, (head, tail) in enumerate([(1, 2), (1, 1), (0, 2)]):
        expected[head] += dY[row, 12:15]
        expected[tail] += dY[row, 15:18]
    assert layer.ops.to_numpy(layer.get_grad("E_type")) == pytest.approx(expected, abs=1e-6)
