"""TrainablePipe components."""

from .span_ner import SpanNER

__all__ = ["SpanNER"]
