"""int8 inference on CPU: the encoder's linear layers quantized when a pipeline is loaded.

A trained pipeline is saved in fp32; spacy-transformers rebuilds the fp32 model and loads its
state dict, and the linear layers are then replaced by dynamically quantized ones: int8
weights with one scale per output channel, activations quantized per call. On CPUs with
AVX-512 VNNI, activations use all 8 bits and every linear layer is quantized; elsewhere they
use 7, as PyTorch does (its int8 kernels there can overflow with 8), and each layer's
feed-forward output projection, the most sensitive to that, stays in fp32. The span and
relation heads stay in fp32.
Quantized layers can't be trained: load with this setting only to annotate.
"""

import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

with warnings.catch_warnings():
    # torch 2.13 marks torch.ao.quantization deprecated; its dynamic int8 Linear is the one
    # that runs fast on CPU without torch.compile (torchao's needs compiling)
    warnings.simplefilter("ignore")
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

QUANTIZE_OPTIONS = ("int8",)
# each layer's feed-forward output projection (BERT, RoBERTa, XLM-R, DeBERTa naming)
FFN_OUTPUTS = (r"layer\.\d+\.output\.dense$",)


# what saving a quantized encoder says: int8 is a load-time setting, never saved
QUANTIZED_SAVE_ERROR = (
    'A pipeline loaded with quantize = "int8" can\'t be saved: save the fp32 '
    "pipeline and quantize it when you load it."
)


@lru_cache(maxsize=1)
def has_vnni() -> bool:
    """Whether this CPU has AVX-512 VNNI (read from /proc/cpuinfo; False where unreadable)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\bavx512_vnni\b", cpuinfo) is not None


class Int8Linear(DynamicQuantizedLinear):
    """PyTorch's dynamic int8 ``Linear``, its activations over 8 bits where ``has_vnni()``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(
            x, self._packed_params._packed_params, reduce_range=not has_vnni()
        )


def quantize_linear_layers(
    module: nn.Module, *, keep_fp32: Optional[Sequence[str]] = None
) -> nn.Module:
    """``module`` with every ``nn.Linear`` quantized to int8 (dynamic quantization, a weight
    scale per output channel), except those whose qualified name matches one of the
    patterns ``keep_fp32`` (None: ``FFN_OUTPUTS`` without VNNI, none with it). CPU only."""
    if any(p.device.type != "cpu" for p in module.parameters()):
        raise ValueError(
            "int8 quantization runs on CPU only: load the pipeline without "
            'quantize = "int8" to use a GPU.'
        )
    if keep_fp32 is None:
        keep_fp32 = () if has_vnni() else FFN_OUTPUTS
    qconfigs = {
        name: per_channel_dynamic_qconfig
        for name, layer in module.named_modules()
        if isinstance(layer, nn.Linear) and not any(re.search(p, name) for p in keep_fp32)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(
            module, qconfigs, dtype=torch.qint8, mapping={nn.Linear: Int8Linear}, inplace=True
        )
