"""SpanBERT pretraining, continued or from scratch: span masking, span boundary objective,
Trainer loop."""

from .masking import SpanMaskingCollator, TokenMaskingCollator, sbo_targets
from .sbo import SpanBertForPreTraining, SpanBoundaryHead
from .scratch import build_from_scratch, pretrain_from_scratch, train_tokenizer
from .train import PretrainingSettings, TokenBlocks, pretrain

__all__ = [
    "PretrainingSettings",
    "SpanBertForPreTraining",
    "SpanBoundaryHead",
    "SpanMaskingCollator",
    "TokenBlocks",
    "TokenMaskingCollator",
    "build_from_scratch",
    "pretrain",
    "pretrain_from_scratch",
    "sbo_targets",
    "train_tokenizer",
]
