"""Representation of a (head span, tail span) pair, built from SpanBERT-style span encodings.

A pair row ``(h_start, h_end, t_start, t_end, h_type, t_type)`` is represented by the
concatenation of three :func:`SpanBoundaryEncoder` outputs: the head span, the tail span,
and the stretch covering both (boundaries + width + the mean of its tokens, so the words
between the two entities are seen); with ``type_width``, also by learned embeddings of the
head's and tail's entity types (ids into the component's entity labels, 0 for unknown).
"""

from typing import Callable, List, Optional, Tuple, cast

from thinc.api import Model, get_array_module, normal_init
from thinc.types import Floats2d, Ints1d, Ints2d, Ragged

from .span_boundary_encoder import SpanBoundaryEncoder

InT = Tuple[Ragged, Ragged]


def PairEncoder(
    nO: Optional[int] = None, *, n_widths: int = 16, type_width: int = 0
) -> Model[InT, Floats2d]:
    """Input: ``(tokvecs, pairs)``, tokvecs a Ragged per doc and pairs a Ragged of
    ``(h_start, h_end, t_start, t_end, h_type, t_type)`` rows per doc (ends exclusive,
    doc-relative). Output: one row of width ``3 * nO + 2 * type_width`` per pair.
    With ``type_width``, the dim ``n_types`` (entity labels + 1) must be set before
    initialization; type ids outside it count as unknown (0)."""
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
        dims={"nO": 3 * nO + 2 * type_width if nO else None}
        | ({"n_types": None} if type_width else {}),
        params={"E_type": None} if type_width else {},
        attrs={"type_width": type_width},
    )


def init(
    model: Model[InT, Floats2d], X: Optional[InT] = None, Y: Optional[Floats2d] = None
) -> None:
    spans = _role_spans(X[1]) if X is not None else [None, None, None]
    for layer, role_spans in zip(model.layers, spans):
        layer.initialize(X=(X[0], role_spans) if X is not None and role_spans is not None else None)
    type_width = model.attrs["type_width"]
    if type_width:
        shape = (model.get_dim("n_types"), type_width)
        model.set_param("E_type", normal_init(model.ops, shape, mean=0.0))
    model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers) + 2 * type_width)


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], InT]]:
    tokvecs, pairs = inputs
    xp = model.ops.xp
    outputs = [
        layer((tokvecs, spans), is_train) for layer, spans in zip(model.layers, _role_spans(pairs))
    ]
    parts = [y for y, _ in outputs]
    widths = [y.shape[1] for y in parts]
    if model.attrs["type_width"]:
        head_types, tail_types = _type_ids(model, pairs)
        E_type = cast(Floats2d, model.get_param("E_type"))
        parts += [E_type[head_types], E_type[tail_types]]
    Y = xp.hstack(parts)

    def backprop(dY: Floats2d) -> InT:
        dX = model.ops.alloc2f(*cast(Floats2d, tokvecs.dataXd).shape)
        start = 0
        for (_, bp), width in zip(outputs, widths):
            d_tokvecs, _ = bp(xp.ascontiguousarray(dY[:, start : start + width]))
            dX += cast(Floats2d, d_tokvecs.dataXd)
            start += width
        if model.attrs["type_width"]:
            d_types = model.ops.alloc2f(*E_type.shape)
            type_width = model.attrs["type_width"]
            for ids in (head_types, tail_types):
                d_rows = xp.ascontiguousarray(dY[:, start : start + type_width])
                model.ops.scatter_add(d_types, ids, d_rows)
                start += type_width
            model.inc_grad("E_type", d_types)
        return Ragged(dX, tokvecs.lengths), pairs

    return Y, backprop


def _role_spans(pairs: Ragged) -> List[Ragged]:
    """Head spans, tail spans and covering spans, each a Ragged with the pairs' lengths."""
    rows = cast(Ints2d, pairs.dataXd)
    xp = get_array_module(rows)
    head = xp.ascontiguousarray(rows[:, 0:2])
    tail = xp.ascontiguousarray(rows[:, 2:4])
    cover = xp.stack([rows[:, [0, 2]].min(axis=1), rows[:, [1, 3]].max(axis=1)], axis=1)
    return [Ragged(spans, pairs.lengths) for spans in (head, tail, cover)]


def _type_ids(model: Model[InT, Floats2d], pairs: Ragged) -> Tuple[Ints1d, Ints1d]:
    """Head and tail entity type ids; ids the table has no row for become 0 (unknown)."""
    rows = cast(Ints2d, pairs.dataXd)
    ids = rows[:, 4:6] * (rows[:, 4:6] < model.get_dim("n_types"))
    ops = model.ops
    return ops.asarray1i(ids[:, 0].copy()), ops.asarray1i(ids[:, 1].copy())
