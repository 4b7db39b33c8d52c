"""spacy-spanbert: SpanBERT-style span components for spaCy.

Importing the package registers the factories, architectures and scorers; spaCy also
finds them through the package's entry points, so no import is needed in user code.
"""

from . import (  # noqa: F401  (registration)
    architectures,
    fork_safety,
    given_entities,
    joint,
    scoring,
    suggesters,
)
from .encoders import EncoderError, load_encoder, load_local_encoder
from .explain import CatTarget, Explanation, RelationTarget, SpanTarget, explain
from .loading import PipelineLoadError, load_pipeline
from .pipeline.relation import RelationExtractor, make_relation_extractor
from .pipeline.span_ner import SpanNER, make_span_ner
from .pipeline.textcat import SpanBertTextCategorizer, make_spanbert_textcat
from .relations import Relation, get_relations, set_relations

# the names spanbert_textcat's class and factory had before 0.2.0
SentenceClassifier = SpanBertTextCategorizer
make_sentence_classifier = make_spanbert_textcat

__version__ = "0.2.0.dev0"
__all__ = [
    "CatTarget",
    "EncoderError",
    "Explanation",
    "PipelineLoadError",
    "Relation",
    "RelationExtractor",
    "RelationTarget",
    "SentenceClassifier",
    "SpanBertTextCategorizer",
    "SpanNER",
    "SpanTarget",
    "explain",
    "get_relations",
    "load_encoder",
    "load_local_encoder",
    "load_pipeline",
    "make_relation_extractor",
    "make_sentence_classifier",
    "make_span_ner",
    "make_spanbert_textcat",
    "set_relations",
]
