"""Updating a head's own weights at a multiple of the optimizer's learning rate."""

from thinc.api import Model, Optimizer


def finish_update_scaled(model: Model, sgd: Optimizer, scale: float) -> None:
    """Like ``Model.finish_update``, with ``lr_scale=scale`` for every parameter.

    For heads on a shared transformer: the encoder's weights belong to the transformer
    component and are updated there at the base rate; a head's freshly initialized weights
    need larger steps than a pretrained encoder.
    """
    for node in model.walk():
        for shim in node.shims:
            shim.finish_update(sgd)
        for name in node.param_names:
            if node.has_grad(name):
                param, grad = sgd(
                    (node.id, name), node.get_param(name), node.get_grad(name), lr_scale=scale
                )
                node.set_param(name, param)
