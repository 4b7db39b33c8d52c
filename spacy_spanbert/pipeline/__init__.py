"""TrainablePipe components."""

from .relation import RelationExtractor
from .sentence import SentenceClassifier
from .span_ner import SpanNER

__all__ = ["RelationExtractor", "SentenceClassifier", "SpanNER"]
