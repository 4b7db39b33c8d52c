"""Representation of a (head span, tail span) pair, built from SpanBERT-style span encodings.

A pair row ``(h_start, h_end, t_start, t_end)`` is represented by the concatenation of
three :func:`SpanBoundaryEncoder` outputs: the head span, the tail span, and the stretch
covering both (boundaries + width + the mean of its tokens, so the words between the two
entities are seen).
"""

from typing import Callable, List, Optional, Tuple, cast

from thinc.api import Model, get_array_module
from thinc.types import Floats2d, Ints2d, Ragged

from .span_boundary_encoder import SpanBoundaryEncoder

InT = Tuple[Ragged, Ragged]


def PairEncoder(nO: Optional[int] = None, *, n_widths: int = 16) -> Model[InT, Floats2d]:
    """Input: ``(tokvecs, pairs)``, tokvecs a Ragged per doc and pairs a Ragged of
    ``(h_start, h_end, t_start, t_end)`` rows per doc (ends exclusive, doc-relative).
    Output: one row of width ``3 * nO`` per pair."""
    layers = [
        SpanBoundaryEncoder(nO, n_widths=n_widths),
        SpanBoundaryEncoder(nO, n_widths=n_widths),
        SpanBoundaryEncoder(nO, n_widths=n_widths * 4, use_inside=True),
    ]
    return Model(
        "pair_encoder",
        forward,
        init=init,
        layers=layers,
        dims={"nO": 3 * nO if nO else None},
    )


def init(
    model: Model[InT, Floats2d], X: Optional[InT] = None, Y: Optional[Floats2d] = None
) -> None:
    spans = _role_spans(X[1]) if X is not None else [None, None, None]
    for layer, role_spans in zip(model.layers, spans):
        layer.initialize(X=(X[0], role_spans) if X is not None and role_spans is not None else None)
    model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], InT]]:
    tokvecs, pairs = inputs
    outputs = [
        layer((tokvecs, spans), is_train) for layer, spans in zip(model.layers, _role_spans(pairs))
    ]
    Y = model.ops.xp.hstack([y for y, _ in outputs])
    widths = [y.shape[1] for y, _ in outputs]

    def backprop(dY: Floats2d) -> InT:
        dX = model.ops.alloc2f(*cast(Floats2d, tokvecs.dataXd).shape)
        start = 0
        for (_, bp), width in zip(outputs, widths):
            d_tokvecs, _ = bp(model.ops.xp.ascontiguousarray(dY[:, start : start + width]))
            dX += cast(Floats2d, d_tokvecs.dataXd)
            start += width
        return Ragged(dX, tokvecs.lengths), pairs

    return Y, backprop


def _role_spans(pairs: Ragged) -> List[Ragged]:
    """Head spans, tail spans and covering spans, each a Ragged with the pairs' lengths."""
    rows = cast(Ints2d, pairs.dataXd.reshape((-1, 4)))
    xp = get_array_module(rows)
    head = xp.ascontiguousarray(rows[:, 0:2])
    tail = xp.ascontiguousarray(rows[:, 2:4])
    cover = xp.stack([rows[:, [0, 2]].min(axis=1), rows[:, [1, 3]].max(axis=1)], axis=1)
    return [Ragged(spans, pairs.lengths) for spans in (head, tail, cover)]
