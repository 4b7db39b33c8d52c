"""Memory a long annotation run gives back after each closed memory zone.

A memory zone frees its docs' strings and lexemes but leaves a tombstone for each in the
string store's and the vocabulary's hash tables (preshed maps). Tombstones are only dropped
when a table grows, and a table always doubles, so over millions of documents with new
strings the tables grow without end (about 32 bytes per new string). Rebuilding them from
their live entries after each zone keeps them at the size of the permanent vocabulary.
"""

import ctypes
import ctypes.util
import gc
import sys
from typing import Any, Optional

import srsly
from spacy.attrs import NORM
from spacy.vocab import Vocab


def compact_vocab(vocab: Vocab) -> None:
    """Rebuild ``vocab``'s string table and lexeme index from their live entries, outside a
    memory zone. Strings are kept; lexemes are made again on first use, from the same
    attribute getters, as after loading the pipeline."""
    if vocab.in_memory_zone:  # type: ignore[attr-defined]
        raise ValueError("compact_vocab runs between memory zones, not inside one")
    vocab.strings.from_bytes(vocab.strings.to_bytes())
    getters = vocab.lex_attr_getters  # type: ignore[attr-defined]
    norm = getters.get(NORM)
    # from_bytes with nothing to load only resets the lexeme index (and wraps the NORM
    # getter in the lookups' norm table once more: undone below)
    vocab.from_bytes(srsly.msgpack_dumps({}))
    if norm is None:
        getters.pop(NORM, None)
    else:
        getters[NORM] = norm


def _libc_malloc_trim() -> Optional[Any]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)


MALLOC_TRIM = _libc_malloc_trim()


def release_memory(vocab: Vocab) -> None:
    """After a memory zone closes: compact ``vocab``, collect the freed objects and hand the
    allocator's free pages back to the system (glibc's ``malloc_trim``; elsewhere only the
    collection), so that neither the tables nor a fragmented heap creep up."""
    compact_vocab(vocab)
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)
