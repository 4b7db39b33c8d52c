"""Readers: one per data format, each producing spaCy Docs and a CorpusSummary."""

from .conll import read_conll
from .errors import CorpusError
from .summary import CorpusSummary

__all__ = ["CorpusError", "CorpusSummary", "read_conll"]
