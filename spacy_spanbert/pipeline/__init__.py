"""TrainablePipe components."""

from .relation import RelationExtractor
from .span_ner import SpanNER
from .textcat import SpanBertTextCategorizer

__all__ = ["RelationExtractor", "SpanBertTextCategorizer", "SpanNER"]
