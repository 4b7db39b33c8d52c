"""Thinc layers, one per module."""

from .pair_encoder import PairEncoder
from .span_boundary_encoder import SpanBoundaryEncoder

__all__ = ["PairEncoder", "SpanBoundaryEncoder"]
