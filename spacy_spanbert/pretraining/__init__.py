"""SpanBERT continued pretraining: span masking, span boundary objective, Trainer loop."""

from .masking import SpanMaskingCollator, sbo_targets
from .sbo import SpanBertForPreTraining, SpanBoundaryHead
from .train import PretrainingSettings, TokenBlocks, pretrain

__all__ = [
    "PretrainingSettings",
    "SpanBertForPreTraining",
    "SpanBoundaryHead",
    "SpanMaskingCollator",
    "TokenBlocks",
    "pretrain",
    "sbo_targets",
]
