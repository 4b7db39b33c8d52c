"""Thinc layers, one per module."""

from .span_boundary_encoder import SpanBoundaryEncoder

__all__ = ["SpanBoundaryEncoder"]
