"""Dense layer with a sigmoid output whose backprop takes the gradient w.r.t. the logits.

Like thinc's ``Softmax`` (and unlike thinc's ``Sigmoid``, which multiplies by the sigmoid's
derivative): pass ``probs - truth`` and you backpropagate binary cross-entropy exactly.
"""

from typing import Callable, Optional, Tuple, cast

from thinc.api import Model, zero_init
from thinc.types import Floats1d, Floats2d
from thinc.util import get_width


def SigmoidOutput(nO: Optional[int] = None, nI: Optional[int] = None) -> Model[Floats2d, Floats2d]:
    """Independent per-label probabilities (multi-label)."""
    return Model(
        "sigmoid_output",
        forward,
        init=init,
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
    )


def init(
    model: Model[Floats2d, Floats2d], X: Optional[Floats2d] = None, Y: Optional[Floats2d] = None
) -> None:
    if X is not None:
        model.set_dim("nI", get_width(X))
    if Y is not None:
        model.set_dim("nO", get_width(Y))
    shape = (model.get_dim("nO"), model.get_dim("nI"))
    model.set_param("W", zero_init(model.ops, shape))
    model.set_param("b", model.ops.alloc1f(shape[0]))


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], Floats2d]]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    Y = model.ops.sigmoid(model.ops.affine(X, W, b))

    def backprop(d_logits: Floats2d) -> Floats2d:
        model.inc_grad("b", d_logits.sum(axis=0))
        model.inc_grad("W", model.ops.gemm(d_logits, X, trans1=True))
        return model.ops.gemm(d_logits, W)

    return Y, backprop
