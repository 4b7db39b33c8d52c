"""Join each candidate span's representation with its doc's sentence labels (``doc.cats``).

A component earlier in the pipeline (a text classifier) writes ``doc.cats``; the span head
reads them as features, so a span's label can depend on the sentence's (a slot on the
intent: "slot-gated" joint intent and slot models). The cats are inputs, not predictions of
this model: no gradient flows back into them. Listed in ``[training] annotating_components``
(with the transformer it listens to), the classifier writes its predictions during training
too, so the span head learns from the kind of cats it will see at inference.
"""

from typing import Callable, List, Optional, Tuple, cast

import numpy
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d, Ragged

InT = Tuple[List[Doc], Ragged]


def with_doc_cats(layer: Model[InT, Floats2d]) -> Model[InT, Floats2d]:
    """Append to the span rows of ``layer`` one column per label in ``attrs["labels"]``:
    the score ``doc.cats`` gives that label in the span's doc (0 where the doc has none).
    Set the labels before initialization; they are saved with the model."""
    return Model(
        "with_doc_cats",
        forward,
        init=init,
        layers=[layer],
        dims={"nO": None},
        attrs={"labels": []},
    )


def init(
    model: Model[InT, Floats2d], X: Optional[InT] = None, Y: Optional[Floats2d] = None
) -> None:
    layer = model.layers[0]
    layer.initialize(X=X)
    model.set_dim("nO", layer.get_dim("nO") + len(model.attrs["labels"]))


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], InT]]:
    docs, spans = inputs
    H, backprop_layer = model.layers[0](inputs, is_train)
    width = H.shape[1]
    Y = model.ops.xp.hstack((H, cats_per_span(model, docs, spans)))

    def backprop(dY: Floats2d) -> InT:
        return backprop_layer(model.ops.xp.ascontiguousarray(dY[:, :width]))

    return cast(Floats2d, Y), backprop


def cats_per_span(model: Model[InT, Floats2d], docs: List[Doc], spans: Ragged) -> Floats2d:
    """One row per span: its doc's cats over ``attrs["labels"]``."""
    labels = model.attrs["labels"]
    table = numpy.array(
        [[doc.cats.get(label, 0.0) for label in labels] for doc in docs], dtype="f"
    ).reshape((len(docs), len(labels)))
    rows = numpy.repeat(table, model.ops.to_numpy(spans.lengths), axis=0)
    return model.ops.asarray2f(cast(Floats2d, rows))
