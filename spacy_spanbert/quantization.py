"""int8 inference on CPU: the encoder's linear layers quantized when a pipeline is loaded.

A trained pipeline is saved in fp32; spacy-transformers rebuilds the fp32 model and loads its
state dict, and the linear layers are then replaced by dynamically quantized ones (int8
weights; activations quantized per batch), except each layer's feed-forward output
projection, which stays in fp32 with the span and relation heads.
Quantized layers can't be trained: load with this setting only to annotate.
"""

import re
import warnings
from typing import Sequence

import torch
from torch import nn

QUANTIZE_OPTIONS = ("int8",)
# each layer's feed-forward output projection (BERT, RoBERTa, XLM-R, DeBERTa naming) stays in
# fp32: quantizing it cost most of the F1 lost to int8 on CoNLL-2003 (docs/speed.md)
FFN_OUTPUTS = (r"layer\.\d+\.output\.dense$",)


def quantize_linear_layers(
    module: nn.Module, *, keep_fp32: Sequence[str] = FFN_OUTPUTS
) -> nn.Module:
    """``module`` with every ``nn.Linear`` quantized to int8 (dynamic quantization), except
    those whose qualified name matches one of the patterns ``keep_fp32``. CPU only."""
    if any(p.device.type != "cpu" for p in module.parameters()):
        raise ValueError(
            "int8 quantization runs on CPU only: load the pipeline without "
            'quantize = "int8" to use a GPU.'
        )
    names = {
        name
        for name, layer in module.named_modules()
        if isinstance(layer, nn.Linear) and not any(re.search(p, name) for p in keep_fp32)
    }
    with warnings.catch_warnings():
        # torch 2.13 marks torch.ao.quantization deprecated; its dynamic int8 Linear is the
        # one that runs fast on CPU without torch.compile (torchao's needs compiling)
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(module, names, dtype=torch.qint8, inplace=True)
