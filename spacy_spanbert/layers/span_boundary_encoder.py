"""SpanBERT's span representation: boundary token vectors plus a width embedding.

A span (s, e) is represented as ``[x_s; x_e; w(e - s)]`` (optionally plus the mean of
``x_s..x_e``), followed by a linear projection and a ReLU. The projection of the
concatenation is computed in factored form, ``W_s x_s + W_e x_e + E[w] (+ W_i mean)``,
so the per-token products are computed once per token rather than once per
candidate span: the cost grows with tokens x hidden, not spans x (2 x encoder width).
The inside mean uses prefix sums of the projected tokens, so it is O(1) per span too.
"""

from typing import Any, Callable, Optional, Tuple, cast

import numpy
from thinc.api import Model, Ops, glorot_uniform_init, normal_init
from thinc.types import Floats2d, Ints1d, Ints2d, Ragged

InT = Tuple[Ragged, Ragged]
CHUNK_ROWS = 1024


def SpanBoundaryEncoder(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    n_widths: int = 16,
    use_inside: bool = False,
) -> Model[InT, Floats2d]:
    """Encode candidate spans from their boundary tokens and width.

    The input is ``(tokvecs, spans)``: token vectors of a batch as a Ragged (one
    sequence per doc) and the candidate spans as a Ragged of ``(start, end)`` rows,
    end exclusive, offsets relative to each doc (the output of spaCy's suggesters).
    Widths of ``n_widths`` tokens or more share the last width embedding.
    """
    params = ["W_start", "W_end", "E_width", "b"] + (["W_inside"] if use_inside else [])
    return Model(
        "span_boundary_encoder",
        forward,
        init=init,
        dims={"nO": nO, "nI": nI},
        params={name: None for name in params},
        attrs={"n_widths": n_widths, "use_inside": use_inside},
    )


def init(
    model: Model[InT, Floats2d], X: Optional[InT] = None, Y: Optional[Floats2d] = None
) -> None:
    if X is not None and X[0].dataXd.size:
        model.set_dim("nI", cast(Floats2d, X[0].dataXd).shape[1])
    if Y is not None and Y.size:
        model.set_dim("nO", Y.shape[1])
    nO = model.get_dim("nO")
    nI = model.get_dim("nI")
    ops = model.ops
    model.set_param("W_start", glorot_uniform_init(ops, (nO, nI)))
    model.set_param("W_end", glorot_uniform_init(ops, (nO, nI)))
    model.set_param("E_width", normal_init(ops, (model.attrs["n_widths"], nO), mean=0.0))
    model.set_param("b", ops.alloc1f(nO))
    if model.attrs["use_inside"]:
        model.set_param("W_inside", glorot_uniform_init(ops, (nO, nI)))


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], InT]]:
    tokvecs, spans = inputs
    ops = model.ops
    xp = ops.xp
    X = cast(Floats2d, tokvecs.dataXd)
    n_tokens = X.shape[0]
    starts, lasts, widths = _span_rows(model, tokvecs.lengths, spans)
    width_column = widths.reshape((-1, 1))
    width_ids = xp.minimum(widths, model.attrs["n_widths"]) - 1
    W_start = _param(model, "W_start")
    W_end = _param(model, "W_end")
    E_width = _param(model, "E_width")
    inside = None
    if model.attrs["use_inside"]:
        W_inside = _param(model, "W_inside")
        prefix = _prefix_sums(ops, ops.gemm(X, W_inside, trans2=True))
        inside = (prefix[lasts + 1] - prefix[starts]) / width_column
    Y = _relu_of_sums(
        xp,
        (
            ops.gemm(X, W_start, trans2=True),
            ops.gemm(X, W_end, trans2=True),
            E_width + model.get_param("b"),
        ),
        (starts, lasts, width_ids),
        inside,
    )

    def backprop(dY: Floats2d) -> InT:
        dH = dY * (Y > 0)
        dP_start = ops.alloc2f(n_tokens, dH.shape[1])
        dP_end = ops.alloc2f(n_tokens, dH.shape[1])
        ops.scatter_add(dP_start, starts, dH)
        ops.scatter_add(dP_end, lasts, dH)
        d_width = ops.alloc2f(*E_width.shape)
        ops.scatter_add(d_width, width_ids, dH)
        model.inc_grad("W_start", ops.gemm(dP_start, X, trans1=True))
        model.inc_grad("W_end", ops.gemm(dP_end, X, trans1=True))
        model.inc_grad("E_width", d_width)
        model.inc_grad("b", dH.sum(axis=0))
        dX = ops.gemm(dP_start, W_start) + ops.gemm(dP_end, W_end)
        if model.attrs["use_inside"]:
            dH_mean = dH / width_column
            d_prefix = ops.alloc2f(n_tokens + 1, dH.shape[1])
            ops.scatter_add(d_prefix, lasts + 1, dH_mean)
            ops.scatter_add(d_prefix, starts, -dH_mean)
            # prefix[k] sums tokens j < k, so token j receives every d_prefix[k], k > j
            dP_inside = xp.ascontiguousarray(xp.cumsum(d_prefix[:0:-1], axis=0)[::-1])
            model.inc_grad("W_inside", ops.gemm(dP_inside, X, trans1=True))
            dX += ops.gemm(dP_inside, W_inside)
        return Ragged(dX, tokvecs.lengths), spans

    return Y, backprop


def _relu_of_sums(
    xp: Any,
    tables: Tuple[Floats2d, Floats2d, Floats2d],
    rows: Tuple[Ints1d, Ints1d, Ints1d],
    extra: Optional[Floats2d],
) -> Floats2d:
    """ReLU(tables[0][rows[0]] + tables[1][rows[1]] + tables[2][rows[2]] (+ extra)), shape
    (n_spans, nO). On CPU it is built CHUNK_ROWS rows at a time, in place, so each chunk's
    sums stay in cache (2.7x faster than whole-array operations at 28,000 x 256)."""
    if xp is not numpy:
        S = tables[0][rows[0]] + tables[1][rows[1]] + tables[2][rows[2]]
        if extra is not None:
            S += extra
        return cast(Floats2d, xp.maximum(S, 0, out=S))
    first, *rest = (numpy.asarray(table) for table in tables)
    first_rows, *rest_rows = (numpy.asarray(r) for r in rows)
    n_spans = len(first_rows)
    H = numpy.empty((n_spans, first.shape[1]), dtype=first.dtype)
    gathered = numpy.empty((min(CHUNK_ROWS, n_spans), H.shape[1]), dtype=H.dtype)
    for i in range(0, n_spans, CHUNK_ROWS):
        chunk = H[i : i + CHUNK_ROWS]
        # rows are in range: "clip" only spares NumPy a buffered copy into ``out``
        numpy.take(first, first_rows[i : i + CHUNK_ROWS], axis=0, out=chunk, mode="clip")
        for table, table_rows in zip(rest, rest_rows):
            part = gathered[: len(chunk)]
            chunk += numpy.take(
                table, table_rows[i : i + CHUNK_ROWS], axis=0, out=part, mode="clip"
            )
        if extra is not None:
            chunk += extra[i : i + CHUNK_ROWS]
        numpy.maximum(chunk, 0, out=chunk)
    return cast(Floats2d, H)


def _span_rows(
    model: Model[InT, Floats2d], doc_lengths: Ints1d, spans: Ragged
) -> Tuple[Ints1d, Ints1d, Ints1d]:
    """Rows of the first and last token of each span in the flat token array, and widths."""
    ops = model.ops
    # offsets on the host (cupy's repeat takes no array of counts), then to the model's device
    lengths = ops.to_numpy(doc_lengths)
    doc_offsets = numpy.concatenate((numpy.zeros((1,), dtype="i"), numpy.cumsum(lengths)[:-1]))
    span_offsets = ops.asarray1i(
        cast(Ints1d, numpy.repeat(doc_offsets, ops.to_numpy(spans.lengths)))
    )
    bounds = ops.asarray2i(cast(Ints2d, spans.dataXd.reshape((-1, 2))))
    starts = ops.asarray1i(bounds[:, 0] + span_offsets)
    ends = ops.asarray1i(bounds[:, 1] + span_offsets)
    return starts, ends - 1, ends - starts


def _param(model: Model, name: str) -> Floats2d:
    return cast(Floats2d, model.get_param(name))


def _prefix_sums(ops: Ops, P: Floats2d) -> Floats2d:
    """Row k holds the sum of rows 0..k-1 of P (row 0 is zero)."""
    prefix = ops.alloc2f(P.shape[0] + 1, P.shape[1])
    prefix[1:] = ops.xp.cumsum(P, axis=0)
    return prefix
