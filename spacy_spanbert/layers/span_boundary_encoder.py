"""SpanBERT's span representation: boundary token vectors plus a width embedding.

A span (s, e) is represented as ``[x_s; x_e; w(e - s)]`` (optionally plus the mean of
``x_s..x_e``, and the mean of its whole doc), followed by a linear projection and a ReLU. The
projection of the concatenation is computed in factored form,
``W_s x_s + W_e x_e + E[w] (+ W_i mean_span) (+ W_d mean_doc)``, so the per-token products
are computed once per token (the doc term once per doc) rather than once per candidate
span: the cost grows with tokens x hidden, not spans x (2 x encoder width). The inside
mean uses prefix sums of the projected tokens, so it is O(1) per span too.
"""

from typing import Callable, Optional, Tuple, cast

import numpy
from thinc.api import Model, Ops, glorot_uniform_init, normal_init
from thinc.types import Floats2d, Ints1d, Ints2d, Ragged

InT = Tuple[Ragged, Ragged]


def SpanBoundaryEncoder(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    n_widths: int = 16,
    use_inside: bool = False,
    use_doc_context: bool = False,
) -> Model[InT, Floats2d]:
    """Encode candidate spans from their boundary tokens and width.

    The input is ``(tokvecs, spans)``: token vectors of a batch as a Ragged (one
    sequence per doc) and the candidate spans as a Ragged of ``(start, end)`` rows,
    end exclusive, offsets relative to each doc (the output of spaCy's suggesters).
    Widths of ``n_widths`` tokens or more share the last width embedding. With
    ``use_doc_context``, the mean of the span's doc's token vectors joins the
    representation, so a span's label can depend on words outside it (in "arriving
    at 5 pm", the time is an arrival time).
    """
    params = ["W_start", "W_end", "E_width", "b"]
    params += ["W_inside"] if use_inside else []
    params += ["W_doc"] if use_doc_context else []
    return Model(
        "span_boundary_encoder",
        forward,
        init=init,
        dims={"nO": nO, "nI": nI},
        params={name: None for name in params},
        attrs={"n_widths": n_widths, "use_inside": use_inside, "use_doc_context": use_doc_context},
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
    if model.attrs["use_doc_context"]:
        model.set_param("W_doc", glorot_uniform_init(ops, (nO, nI)))


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], InT]]:
    tokvecs, spans = inputs
    ops = model.ops
    xp = ops.xp
    X = cast(Floats2d, tokvecs.dataXd)
    n_tokens = X.shape[0]
    starts, lasts, widths, span_docs = _span_rows(model, tokvecs.lengths, spans)
    width_column = widths.reshape((-1, 1))
    width_ids = xp.minimum(widths, model.attrs["n_widths"]) - 1
    W_start = _param(model, "W_start")
    W_end = _param(model, "W_end")
    E_width = _param(model, "E_width")
    H = (
        ops.gemm(X, W_start, trans2=True)[starts]
        + ops.gemm(X, W_end, trans2=True)[lasts]
        + E_width[width_ids]
        + model.get_param("b")
    )
    if model.attrs["use_inside"]:
        W_inside = _param(model, "W_inside")
        prefix = _prefix_sums(ops, ops.gemm(X, W_inside, trans2=True))
        H += (prefix[lasts + 1] - prefix[starts]) / width_column
    if model.attrs["use_doc_context"]:
        W_doc = _param(model, "W_doc")
        doc_means = ops.reduce_mean(X, tokvecs.lengths)  # zeros for an empty doc
        H += ops.gemm(doc_means, W_doc, trans2=True)[span_docs]
    active = H > 0
    Y = H * active

    def backprop(dY: Floats2d) -> InT:
        dH = dY * active
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
        if model.attrs["use_doc_context"]:
            dP_doc = ops.alloc2f(doc_means.shape[0], dH.shape[1])
            ops.scatter_add(dP_doc, span_docs, dH)
            model.inc_grad("W_doc", ops.gemm(dP_doc, doc_means, trans1=True))
            dX += ops.backprop_reduce_mean(ops.gemm(dP_doc, W_doc), tokvecs.lengths)
        return Ragged(dX, tokvecs.lengths), spans

    return Y, backprop


def _span_rows(
    model: Model[InT, Floats2d], doc_lengths: Ints1d, spans: Ragged
) -> Tuple[Ints1d, Ints1d, Ints1d, Ints1d]:
    """Rows of the first and last token of each span in the flat token array, widths, and
    the index of each span's doc in the batch."""
    ops = model.ops
    # offsets on the host (cupy's repeat takes no array of counts), then to the model's device
    lengths = ops.to_numpy(doc_lengths)
    doc_offsets = numpy.concatenate((numpy.zeros((1,), dtype="i"), numpy.cumsum(lengths)[:-1]))
    span_docs = numpy.repeat(numpy.arange(len(lengths), dtype="i"), ops.to_numpy(spans.lengths))
    span_offsets = ops.asarray1i(cast(Ints1d, doc_offsets[span_docs]))
    bounds = ops.asarray2i(cast(Ints2d, spans.dataXd.reshape((-1, 2))))
    starts = ops.asarray1i(bounds[:, 0] + span_offsets)
    ends = ops.asarray1i(bounds[:, 1] + span_offsets)
    return starts, ends - 1, ends - starts, ops.asarray1i(cast(Ints1d, span_docs))


def _param(model: Model, name: str) -> Floats2d:
    return cast(Floats2d, model.get_param(name))


def _prefix_sums(ops: Ops, P: Floats2d) -> Floats2d:
    """Row k holds the sum of rows 0..k-1 of P (row 0 is zero)."""
    prefix = ops.alloc2f(P.shape[0] + 1, P.shape[1])
    prefix[1:] = ops.xp.cumsum(P, axis=0)
    return prefix
