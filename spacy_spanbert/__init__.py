"""spacy-spanbert: SpanBERT-style span components for spaCy.

Importing the package registers the factories, architectures and scorers; spaCy also
finds them through the package's entry points, so no import is needed in user code.
"""

from . import architectures, scoring  # noqa: F401  (registration)
from .encoders import EncoderError, load_local_encoder
from .pipeline.relation import RelationExtractor, make_relation_extractor
from .pipeline.sentence import SentenceClassifier, make_sentence_classifier
from .pipeline.span_ner import SpanNER, make_span_ner
from .relations import Relation, get_relations, set_relations

__version__ = "0.1.0"
__all__ = [
    "EncoderError",
    "Relation",
    "RelationExtractor",
    "SentenceClassifier",
    "SpanNER",
    "get_relations",
    "load_local_encoder",
    "make_relation_extractor",
    "make_sentence_classifier",
    "make_span_ner",
    "set_relations",
]
