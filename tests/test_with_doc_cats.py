"""with_doc_cats: each span row gets its doc's cats, in the layer's label order."""

from typing import List, Tuple

import numpy
import spacy
from spacy.tokens import Doc
from thinc.api import Model, get_current_ops
from thinc.types import Floats2d, Ragged

from spacy_spanbert.layers.with_doc_cats import with_doc_cats

OPS = get_current_ops()
InT = Tuple[List[Doc], Ragged]


def span_rows(width: int = 2) -> Model[InT, Floats2d]:
    """A stand-in span layer: row i is (i, i, ...); its backprop returns the gradient it got."""

    def forward(model: Model, inputs: InT, is_train: bool):
        n = int(inputs[1].lengths.sum())
        Y = OPS.asarray2f(numpy.repeat(numpy.arange(n, dtype="f")[:, None], width, axis=1))
        return Y, lambda dY: dY

    return Model("span_rows", forward, dims={"nO": width})


def inputs() -> InT:
    nlp = spacy.blank("en")
    docs = [nlp("play some jazz"), nlp("no cats here"), nlp("book it")]
    docs[0].cats = {"PlayMusic": 0.9, "BookRestaurant": 0.1}
    docs[2].cats = {"BookRestaurant": 0.8, "Unseen": 1.0}
    spans = Ragged(
        OPS.asarray2i(numpy.array([[0, 1], [1, 3], [0, 2], [0, 1], [1, 2]], dtype="i")),
        OPS.asarray1i(numpy.array([2, 1, 2], dtype="i")),
    )
    return docs, spans


def make_layer() -> Model[InT, Floats2d]:
    layer = with_doc_cats(span_rows())
    layer.attrs["labels"] = ["BookRestaurant", "PlayMusic"]
    layer.initialize(X=inputs())
    return layer


def test_rows_are_the_span_rows_then_their_docs_cats_in_label_order() -> None:
    layer = make_layer()
    assert layer.get_dim("nO") == 4
    Y = OPS.to_numpy(layer.predict(inputs()))
    expected = [
        [0, 0, 0.1, 0.9],
        [1, 1, 0.1, 0.9],
        [2, 2, 0.0, 0.0],  # a doc without cats
        [3, 3, 0.8, 0.0],  # a label the layer doesn't know is left out
        [4, 4, 0.8, 0.0],
    ]
    numpy.testing.assert_allclose(Y, expected, rtol=1e-6)


def test_gradient_goes_to_the_span_rows_only() -> None:
    layer = make_layer()
    _, backprop = layer.begin_update(inputs())
    dY = numpy.arange(20, dtype="f").reshape((5, 4))
    numpy.testing.assert_array_equal(OPS.to_numpy(backprop(OPS.asarray2f(dY))), dY[:, :2])


def test_no_spans_and_no_labels() -> None:
    layer = with_doc_cats(span_rows())
    docs, _ = inputs()
    layer.initialize(X=inputs())
    assert layer.get_dim("nO") == 2
    empty = Ragged(OPS.alloc2i(0, 2), OPS.asarray1i(numpy.zeros((3,), dtype="i")))
    assert layer.predict((docs, empty)).shape == (0, 2)


def test_labels_are_saved_with_the_model() -> None:
    layer = make_layer()
    loaded = with_doc_cats(span_rows()).from_bytes(layer.to_bytes())
    assert loaded.attrs["labels"] == ["BookRestaurant", "PlayMusic"]
