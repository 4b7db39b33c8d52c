"""TrainablePipe components."""

from .relation import RelationExtractor
from .span_ner import SpanNER

__all__ = ["RelationExtractor", "SpanNER"]
