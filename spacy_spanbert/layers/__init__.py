"""Thinc layers, one per module."""

from .marker_encoder import MarkerEncoder
from .pair_encoder import PairEncoder
from .span_boundary_encoder import SpanBoundaryEncoder
from .with_doc_cats import with_doc_cats

__all__ = ["MarkerEncoder", "PairEncoder", "SpanBoundaryEncoder", "with_doc_cats"]
