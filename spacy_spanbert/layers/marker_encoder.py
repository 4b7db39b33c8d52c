"""A relation encoder of its own that reads entity markers (see :mod:`spacy_spanbert.markers`).

Input: ``(docs, pairs)``, pairs a Ragged of ``(h_start, h_end, t_start, t_end, h_type,
t_type)`` rows per doc (type ids index ``attrs["entity_labels"]`` + 1; 0 is unknown). Output:
one row of width ``2 * hidden_size`` per pair: the encoder's last hidden states at the head's
and the tail's opening marker.

The encoder is a Hugging Face model wrapped in spacy-transformers' ``HFWrapper`` (so it is
saved with the pipeline, loads without the hub, and ``quantize = "int8"`` applies to it as to
the shared encoder), loaded like ``spacy_spanbert.TransformerModel.v1``'s from a hub id or a
local directory. ``passes`` chooses how pairs reach it:

- ``solid``: one sequence per pair, its markers written into the words around the pair
  (``context`` words either side of the stretch covering both entities);
- ``levitated``: one sequence per document (or, for a document longer than ``max_length``
  wordpieces, per pair's window) with each pair's markers appended after the text, at the
  position ids of the spans' boundary wordpieces, under a 2-D attention mask: the text sees
  only the text, a pair's markers see the text and each other. A document's pairs are split
  over as many sequences as ``max_length`` requires;
- ``packed``: one sequence per head entity (PL-Marker's packing): its window with the
  head's markers written in, and the markers of each of its tails appended after it as in
  ``levitated``.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy
import torch
from spacy.tokens import Doc, Span
from spacy_transformers.align import get_span2wp_from_offset_mapping
from spacy_transformers.data_classes import HFObjects
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.hf_wrapper import HFWrapper
from thinc.api import Model, torch2xp, xp2torch
from thinc.types import ArgsKwargs, Floats2d, Ints2d, Ragged
from tokenizers import AddedToken

from ..encoders import load_encoder
from ..markers import (
    MARKER_MODES,
    PASS_MODES,
    levitated_markers,
    marker_vocabulary,
    solid_head_text,
    solid_text,
)
from ..quantization import QUANTIZED_SAVE_ERROR, quantize_linear_layers

InT = Tuple[List[Doc], Ragged]
# model types that take position ids and a 3-D attention mask, and whether their position ids
# start after the padding id (RoBERTa's way) rather than at 0
LEVITATED_ENCODERS = {"bert": False, "electra": False, "roberta": True, "xlm-roberta": True}


@dataclass
class MarkedSequences:
    """Encoder input for some pairs: token ids per sequence, position ids and a 2-D attention
    matrix per sequence when markers are levitated, and per pair its sequence and the positions
    of its head's and tail's opening markers."""

    input_ids: List[List[int]] = field(default_factory=list)
    position_ids: List[List[int]] = field(default_factory=list)
    attention: List[numpy.ndarray] = field(default_factory=list)
    pair_rows: List[Tuple[int, int, int]] = field(default_factory=list)  # (seq, head, tail)


class QuantizableHFShim(HFShim):
    """spacy-transformers' shim, whose encoder is quantized once its weights are loaded when
    ``quantize`` (this load's setting) says so."""

    quantize: Optional[str] = None
    quantized = False

    def from_bytes(self, bytes_data: bytes) -> "QuantizableHFShim":
        super().from_bytes(bytes_data)
        if self.quantize and self._model is not None:
            self._model = quantize_linear_layers(self._model)
            self._hfmodel.transformer = self._model
            self.quantized = True
        return self

    def to_bytes(self) -> bytes:
        if self.quantized:
            raise ValueError(QUANTIZED_SAVE_ERROR)
        return super().to_bytes()


def MarkerEncoder(
    encoder: Dict[str, Any],
    settings: Dict[str, Any],
    *,
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    quantize: Optional[str] = None,
) -> Model[InT, Floats2d]:
    """See the module docstring. encoder: :func:`load_encoder`'s ``name``, ``tokenizer``,
    ``revision`` and ``model_type``; settings: ``markers``, ``passes``, ``context``,
    ``max_length`` and ``batch_tokens`` (``MarkerRelationModel.v1``'s arguments)."""
    markers, passes = settings["markers"], settings["passes"]
    if markers not in MARKER_MODES:
        raise ValueError(f"markers = {markers!r}: expected one of {', '.join(MARKER_MODES)}")
    if passes not in PASS_MODES:
        raise ValueError(f"passes = {passes!r}: expected one of {', '.join(PASS_MODES)}")
    hf_objects = HFObjects(
        None, None, None, dict(tokenizer_config or {}), dict(transformer_config or {})
    )
    wrapper = HFWrapper(
        hf_objects, convert_inputs=_convert_inputs, convert_outputs=_convert_outputs
    )
    shim = QuantizableHFShim(hf_objects)
    shim.quantize = quantize
    wrapper.shims[0] = shim
    return Model(
        "marker_encoder",
        forward,
        init=init,
        layers=[wrapper],
        dims={"nO": None},
        attrs={**encoder, **settings, "has_transformer": False, "entity_labels": []},
    )


def init(model: Model[InT, Floats2d], X: Optional[InT] = None, Y: Any = None) -> None:
    if not model.attrs["has_transformer"]:
        hf = load_encoder(
            model.attrs["name"] or None,
            tokenizer=model.attrs["tokenizer"],
            revision=model.attrs["revision"],
            tokenizer_config=dict(_shim(model)._hfmodel._init_tokenizer_config),
            transformer_config=dict(_shim(model)._hfmodel._init_transformer_config),
            model_type=model.attrs["model_type"],
        )
        if not getattr(hf.tokenizer, "is_fast", False):
            raise ValueError(
                f"The marker relation encoder '{model.attrs['name']}' has a slow (Python) "
                "tokenizer: marker positions need a fast tokenizer's character offsets."
            )
        shim = _shim(model)
        shim._model = hf.transformer
        shim._hfmodel.tokenizer = hf.tokenizer
        shim._hfmodel.transformer = hf.transformer
        shim._hfmodel.vocab_file_contents = hf.vocab_file_contents
        model.attrs["has_transformer"] = True
    if model.attrs["markers"] == "typed_tokens":
        add_marker_tokens(model)
    _check_passes(model)
    model.set_dim("nO", 2 * _shim(model)._model.config.hidden_size)


def add_marker_tokens(model: Model) -> None:
    """Add the ``typed_tokens`` markers of ``attrs["entity_labels"]`` that the tokenizer
    lacks to its vocabulary, as special tokens (never split or lower-cased), each embedding
    the mean of its punctuation form's wordpieces' embeddings."""
    tokenizer = _shim(model)._hfmodel.tokenizer
    transformer = _shim(model)._model
    known = tokenizer.get_vocab()  # built anew on each call: read it once
    vocabulary = marker_vocabulary(model.attrs["entity_labels"])
    new = [(token, text) for token, text in vocabulary if token not in known]
    if not new:
        return
    sources = [tokenizer(" " + text, add_special_tokens=False)["input_ids"] for _, text in new]
    tokenizer.add_tokens(
        [AddedToken(token, special=True, normalized=False) for token, _ in new],
        special_tokens=True,
    )
    embeddings = transformer.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        for (token, _), ids in zip(new, sources):
            row = tokenizer.convert_tokens_to_ids(token)
            embeddings.weight[row] = embeddings.weight[ids].mean(dim=0)


def _check_passes(model: Model) -> None:
    config = _shim(model)._model.config
    passes = model.attrs["passes"]
    if passes != "solid" and config.model_type not in LEVITATED_ENCODERS:
        raise ValueError(
            f'passes = "{passes}" needs an encoder that takes position ids and a 2-D '
            f"attention mask per sequence ({', '.join(LEVITATED_ENCODERS)}); "
            f"'{model.attrs['name']}' is a {config.model_type} model. Use passes = \"solid\"."
        )


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], InT]]:
    docs, pairs = inputs
    batch = SEQUENCES[model.attrs["passes"]](model, docs, pairs)
    wrapper = model.layers[0]
    Y = model.ops.alloc2f(len(batch.pair_rows), model.get_dim("nO"))
    chunks = encoder_chunks(batch, int(model.attrs["batch_tokens"]))
    if not is_train:
        for chunk, rows in chunks:
            Y[rows] = wrapper.predict(chunk)  # type: ignore[call-overload]
        return Y, lambda dY: inputs
    # Training holds one chunk's activations at a time: each chunk runs forward without a
    # graph now, and again with one when its gradient comes (with the same random state, so
    # dropout drops the same units): one more forward pass for memory bounded by batch_tokens.
    states = []
    for chunk, rows in chunks:
        states.append(_rng_state())
        with torch.no_grad():
            Y[rows] = wrapper(chunk, is_train)[0]  # type: ignore[call-overload]
    after = _rng_state()

    def backprop(dY: Floats2d) -> InT:
        for (chunk, rows), state in zip(chunks, states):
            _set_rng_state(state)
            _, backprop_chunk = wrapper(chunk, is_train)
            backprop_chunk(model.ops.xp.ascontiguousarray(dY[rows]))  # type: ignore[call-overload]
        _set_rng_state(after)
        return inputs

    return Y, backprop


def _rng_state() -> List[torch.Tensor]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return [torch.get_rng_state(), *cuda]


def _set_rng_state(state: List[torch.Tensor]) -> None:
    torch.set_rng_state(state[0])
    if len(state) > 1:
        torch.cuda.set_rng_state_all(state[1:])


def _pair_windows(doc: Doc, rows: numpy.ndarray, context: int) -> List[Tuple[int, int]]:
    """(start, end) of each pair's window: the stretch covering head and tail, plus
    ``context`` tokens either side."""
    low = numpy.minimum(rows[:, 0], rows[:, 2]) - context
    high = numpy.maximum(rows[:, 1], rows[:, 3]) + context
    return list(zip(numpy.maximum(low, 0).tolist(), numpy.minimum(high, len(doc)).tolist()))


def _type_label(model: Model, type_id: int) -> str:
    labels = model.attrs["entity_labels"]
    return labels[type_id - 1] if 0 < type_id <= len(labels) else "entity"


def _doc_rows(pairs: Ragged) -> List[numpy.ndarray]:
    rows = numpy.asarray(cast(Ints2d, pairs.dataXd)).reshape((-1, 6))
    lengths = numpy.asarray(pairs.lengths)
    return numpy.split(rows, numpy.cumsum(lengths)[:-1]) if len(lengths) else []


def solid_sequences(model: Model, docs: List[Doc], pairs: Ragged) -> MarkedSequences:
    """One sequence per pair: the pair's window with its markers written in."""
    tokenizer = _shim(model)._hfmodel.tokenizer
    markers = model.attrs["markers"]
    texts: List[str] = []
    openings: List[Tuple[int, int]] = []
    for doc, rows in zip(docs, _doc_rows(pairs)):
        windows = _pair_windows(doc, rows, int(model.attrs["context"]))
        for row, (start, end) in zip(rows.tolist(), windows):
            words = [token.text for token in doc[start:end]]
            spaces = [bool(token.whitespace_) for token in doc[start:end]]
            head = (row[0] - start, row[1] - start, _type_label(model, row[4]))
            tail = (row[2] - start, row[3] - start, _type_label(model, row[5]))
            text, head_char, tail_char = solid_text(words, spaces, head, tail, markers)
            texts.append(text)
            openings.append((head_char, tail_char))
    batch = MarkedSequences()
    if not texts:
        return batch
    encoded = tokenizer(
        texts,
        return_offsets_mapping=True,
        truncation=True,
        max_length=int(model.attrs["max_length"]),
    )
    for i, (ids, offsets) in enumerate(zip(encoded["input_ids"], encoded["offset_mapping"])):
        batch.input_ids.append(ids)
        piece_of = _piece_of_char(offsets, len(texts[i]))
        head_char, tail_char = openings[i]
        batch.pair_rows.append((i, int(piece_of[head_char]), int(piece_of[tail_char])))
    return batch


def _piece_of_char(offsets: Sequence[Tuple[int, int]], n_chars: int) -> numpy.ndarray:
    """(n_chars + 1,) the first wordpiece covering each character of a text (0, the first
    special token, for a character no piece covers: whitespace, or cut off by truncation)."""
    piece_of = numpy.zeros(n_chars + 1, dtype="i")
    for i, (char_start, char_end) in reversed(list(enumerate(offsets))):
        piece_of[char_start:char_end] = i  # reversed: the first piece covering a char wins
    return piece_of


def _marker_ids(tokenizer: Any, markers: str) -> Callable[[str], List[int]]:
    """The wordpiece ids of a marker's text (memoized)."""
    cache: Dict[str, List[int]] = {}

    def ids_of(text: str) -> List[int]:
        if text not in cache:
            # a marker token is its own id: with a space before it, byte-level BPE would add
            # a space token
            cache[text] = (
                [tokenizer.convert_tokens_to_ids(text)]
                if markers == "typed_tokens"
                else tokenizer(" " + text, add_special_tokens=False)["input_ids"]
            )
        return cache[text]

    return ids_of


def _position_offset(model: Model) -> int:
    """The first position id of a sequence (after the padding id for RoBERTa's family)."""
    config = _shim(model)._model.config
    return config.pad_token_id + 1 if LEVITATED_ENCODERS[config.model_type] else 0


def levitated_sequences(model: Model, docs: List[Doc], pairs: Ragged) -> MarkedSequences:
    """Per document (or per pair's window, for a document too long to share), the text once
    and the pairs' markers after it, split over as many sequences as ``max_length`` needs."""
    tokenizer = _shim(model)._hfmodel.tokenizer
    offset = _position_offset(model)
    markers = model.attrs["markers"]
    max_length = int(model.attrs["max_length"])
    ids_of = _marker_ids(tokenizer, markers)

    def group_size(row: List[int]) -> int:
        labels = _type_label(model, row[4]), _type_label(model, row[5])
        return sum(len(ids_of(text)) for _, text in levitated_markers(*labels, markers))

    # group the pairs (by their index in the input) by the window they are read in: the
    # whole doc when it fits
    windows: Dict[Tuple[int, int, int], List[Tuple[int, List[int]]]] = {}
    encodings: Dict[Tuple[int, int, int], Any] = {}
    index = 0
    for i, (doc, doc_rows) in enumerate(zip(docs, _doc_rows(pairs))):
        if not len(doc_rows):
            continue
        longest = max(group_size(row) for row in doc_rows.tolist())
        encoded_doc = tokenizer(doc.text, return_offsets_mapping=True)
        whole = len(encoded_doc["input_ids"]) + longest <= max_length
        if whole:
            encodings[(i, 0, len(doc))] = encoded_doc
        spans = (
            [(0, len(doc))] * len(doc_rows)
            if whole
            else _pair_windows(doc, doc_rows, int(model.attrs["context"]))
        )
        for row, (start, end) in zip(doc_rows.tolist(), spans):
            windows.setdefault((i, start, end), []).append((index, row))
            index += 1
    batch = MarkedSequences()
    pair_order: List[int] = []
    for (i, start, end), indexed_rows in windows.items():
        window = docs[i][start:end]
        encoded = encodings.get((i, start, end)) or tokenizer(
            window.text, return_offsets_mapping=True, truncation=True, max_length=max_length
        )
        first, last = _word_pieces(window, encoded["offset_mapping"])
        groups = []
        for _, row in indexed_rows:
            labels = _type_label(model, row[4]), _type_label(model, row[5])
            at = {
                "head_start": first[row[0] - start],
                "head_end": last[row[1] - start - 1],
                "tail_start": first[row[2] - start],
                "tail_end": last[row[3] - start - 1],
            }
            groups.append(
                [(ids_of(text), at[role]) for role, text in levitated_markers(*labels, markers)]
            )
        indices = [k for k, _ in indexed_rows]
        for pair, seq, group_start, group in _append_levitated(
            batch, encoded["input_ids"], groups, indices, offset, max_length
        ):
            # the head's opening marker comes first, the tail's third
            tail_at = group_start + sum(len(piece_ids) for piece_ids, _ in group[:2])
            batch.pair_rows.append((seq, group_start, tail_at))
            pair_order.append(pair)
    _restore_pair_order(batch, pair_order)
    return batch


def packed_sequences(model: Model, docs: List[Doc], pairs: Ragged) -> MarkedSequences:
    """Per head entity of a document (or per head and pair's window, for a document too long
    to share), the text with the head's markers written in and its tails' markers after it,
    split over as many sequences as ``max_length`` needs (PL-Marker's packing)."""
    tokenizer = _shim(model)._hfmodel.tokenizer
    offset = _position_offset(model)
    markers = model.attrs["markers"]
    max_length = int(model.attrs["max_length"])
    ids_of = _marker_ids(tokenizer, markers)

    def tail_ids(head_label: str, row: List[int]) -> Tuple[List[int], List[int]]:
        """The wordpiece ids of the tail's opening and closing marker."""
        tail_label = _type_label(model, row[5])
        (_, opening), (_, closing) = levitated_markers(head_label, tail_label, markers)[2:]
        return ids_of(opening), ids_of(closing)

    batch = MarkedSequences()
    pair_order: List[int] = []
    index = 0
    for doc, doc_rows in zip(docs, _doc_rows(pairs)):
        # the pairs (by their index in the input) of each head
        heads: Dict[Tuple[int, int, int], List[Tuple[int, List[int]]]] = {}
        for row in doc_rows.tolist():
            heads.setdefault((row[0], row[1], row[4]), []).append((index, row))
            index += 1
        for (h_start, h_end, h_type), indexed_rows in heads.items():
            head = (h_start, h_end, _type_label(model, h_type))
            whole = _head_sequence(tokenizer, doc, head, 0, len(doc), markers, None)
            longest = max(sum(map(len, tail_ids(head[2], row))) for _, row in indexed_rows)
            fits = len(whole[0]) + longest <= max_length
            rows = numpy.array([row for _, row in indexed_rows], dtype="i")
            spans = (
                [(0, len(doc))] * len(rows)
                if fits
                else _pair_windows(doc, rows, int(model.attrs["context"]))
            )
            windows: Dict[Tuple[int, int], List[Tuple[int, List[int]]]] = {}
            for indexed_row, span in zip(indexed_rows, spans):
                windows.setdefault(span, []).append(indexed_row)
            for (start, end), window_rows in windows.items():
                text_ids, head_at, first, last = (
                    whole
                    if fits
                    else _head_sequence(tokenizer, doc, head, start, end, markers, max_length)
                )
                groups = []
                for _, row in window_rows:
                    opening, closing = tail_ids(head[2], row)
                    at_start, at_end = first[row[2] - start], last[row[3] - start - 1]
                    groups.append([(opening, at_start), (closing, at_end)])
                indices = [k for k, _ in window_rows]
                for pair, seq, tail_at, _ in _append_levitated(
                    batch, text_ids, groups, indices, offset, max_length
                ):
                    batch.pair_rows.append((seq, head_at, tail_at))
                    pair_order.append(pair)
    _restore_pair_order(batch, pair_order)
    return batch


def _head_sequence(
    tokenizer: Any,
    doc: Doc,
    head: Tuple[int, int, str],
    start: int,
    end: int,
    markers: str,
    max_length: Optional[int],
) -> Tuple[List[int], int, List[int], List[int]]:
    """The wordpiece ids of ``doc[start:end]`` with the head's markers written in, the
    position of the head's opening marker, and each word's first and last wordpiece (0 for a
    word truncation cut off)."""
    window = doc[start:end]
    words = [token.text for token in window]
    spaces = [bool(token.whitespace_) for token in window]
    text, head_char, word_chars = solid_head_text(
        words, spaces, (head[0] - start, head[1] - start, head[2]), markers
    )
    encoded = tokenizer(
        text,
        return_offsets_mapping=True,
        truncation=max_length is not None,
        max_length=max_length,
    )
    piece_of = _piece_of_char(encoded["offset_mapping"], len(text))
    first = [int(piece_of[char_start]) for char_start, _ in word_chars]
    last = [int(piece_of[max(char_end - 1, char_start)]) for char_start, char_end in word_chars]
    return encoded["input_ids"], int(piece_of[head_char]), first, last


def _append_levitated(
    batch: MarkedSequences,
    text_ids: List[int],
    groups: List[List[Tuple[List[int], int]]],
    indices: List[int],
    offset: int,
    max_length: int,
) -> List[Tuple[int, int, int, List[Tuple[List[int], int]]]]:
    """Add sequences of the text followed by marker groups, each group's markers (ids, the
    position id they share) seeing the text and each other, the text seeing no markers; as
    many sequences as ``max_length`` needs. Returns per group its pair's index, sequence, the
    position where it starts, and the group."""
    n_text = len(text_ids)
    added = []
    for sequence_groups, pair_indices in _packed(groups, n_text, max_length, indices):
        ids = list(text_ids)
        position_ids = list(range(offset, offset + n_text))
        owners = [-1] * n_text
        seq = len(batch.input_ids)
        for k, (group, pair) in enumerate(zip(sequence_groups, pair_indices)):
            added.append((pair, seq, len(ids), group))
            for piece_ids, position in group:
                ids.extend(piece_ids)
                position_ids.extend([offset + position] * len(piece_ids))
                owners.extend([k] * len(piece_ids))
        owner = numpy.array(owners)
        attention = numpy.zeros((len(ids), len(ids)), dtype="i")
        attention[:, :n_text] = 1
        attention[n_text:, n_text:] = owner[n_text:, None] == owner[None, n_text:]
        batch.input_ids.append(ids)
        batch.position_ids.append(position_ids)
        batch.attention.append(attention)
    return added


def _restore_pair_order(batch: MarkedSequences, pair_order: List[int]) -> None:
    """Put ``batch.pair_rows`` (built in ``pair_order``) back in the pairs' input order."""
    order = numpy.argsort(numpy.array(pair_order, dtype="i"), kind="stable")
    batch.pair_rows = [batch.pair_rows[k] for k in order.tolist()]


SEQUENCES = {
    "solid": solid_sequences,
    "levitated": levitated_sequences,
    "packed": packed_sequences,
}


def _word_pieces(window: Span, offsets: Sequence[Tuple[int, int]]) -> Tuple[List[int], List[int]]:
    """Per token of ``window``, its first and last wordpiece (spacy-transformers' alignment);
    a token with none (cut off by truncation) borrows its neighbour's."""
    # (n_pieces, 2) offsets, as spacy-transformers itself passes them (its stub says a tuple)
    offsets_array = numpy.asarray(offsets, dtype="int64")
    aligned = get_span2wp_from_offset_mapping(window, offsets_array)  # type: ignore[arg-type]
    first = [min(pieces) if pieces else -1 for pieces in aligned]
    last = [max(pieces) if pieces else -1 for pieces in aligned]
    fallback = 1 if len(offsets) > 1 else 0
    for k in range(len(window)):
        if first[k] < 0:
            first[k] = last[k] = first[k - 1] if k else fallback
    return first, last


def _packed(
    groups: List[List[Tuple[List[int], int]]],
    n_text: int,
    max_length: int,
    indices: Sequence[int],
) -> List[Tuple[List[List[Tuple[List[int], int]]], List[int]]]:
    """The pairs' marker groups split into sequences of at most ``max_length`` tokens with
    the text (at least one pair each)."""
    sequences: List[Tuple[List[List[Tuple[List[int], int]]], List[int]]] = []
    length = max_length
    for group, index in zip(groups, indices):
        size = sum(len(piece_ids) for piece_ids, _ in group)
        if not sequences or length + size > max_length:
            sequences.append(([], []))
            length = n_text
        sequences[-1][0].append(group)
        sequences[-1][1].append(index)
        length += size
    return sequences


def encoder_chunks(batch: MarkedSequences, batch_tokens: int) -> List[Tuple[Any, numpy.ndarray]]:
    """The sequences in groups of similar length, at most ``batch_tokens`` padded tokens
    each, as (encoder input, the output rows of its pairs)."""
    lengths = numpy.array([len(ids) for ids in batch.input_ids], dtype="i")
    order = numpy.argsort(lengths, kind="stable")
    by_sequence: Dict[int, List[int]] = {}
    for row, (seq, _, _) in enumerate(batch.pair_rows):
        by_sequence.setdefault(seq, []).append(row)
    chunks = []
    current: List[int] = []
    for seq in order.tolist():  # ascending lengths: the newest sequence is the widest
        if current and int(lengths[seq]) * (len(current) + 1) > batch_tokens:
            chunks.append(current)
            current = []
        current.append(seq)
    if current:
        chunks.append(current)
    out = []
    for sequences in chunks:
        rows = [row for seq in sequences for row in by_sequence.get(seq, [])]
        out.append((_chunk_input(batch, sequences, rows), numpy.array(rows, dtype="i")))
    return out


def _chunk_input(batch: MarkedSequences, sequences: List[int], rows: List[int]) -> Dict[str, Any]:
    width = max(len(batch.input_ids[seq]) for seq in sequences)
    n = len(sequences)
    input_ids = numpy.zeros((n, width), dtype="int64")
    local = {seq: k for k, seq in enumerate(sequences)}
    if batch.attention:
        mask = numpy.zeros((n, width, width), dtype="int64")
        position_ids = numpy.zeros((n, width), dtype="int64")
    else:
        mask = numpy.zeros((n, width), dtype="int64")
        position_ids = None
    for k, seq in enumerate(sequences):
        ids = batch.input_ids[seq]
        input_ids[k, : len(ids)] = ids
        if position_ids is not None:
            size = len(ids)
            mask[k, :size, :size] = batch.attention[seq]
            position_ids[k, :size] = batch.position_ids[seq]
        else:
            mask[k, : len(ids)] = 1
    pair_rows = numpy.array([batch.pair_rows[row] for row in rows], dtype="int64").reshape(-1, 3)
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "position_ids": position_ids,
        "pairs": numpy.stack(
            [[local[s] for s in pair_rows[:, 0].tolist()], pair_rows[:, 1], pair_rows[:, 2]],
            axis=1,
        )
        if len(pair_rows)
        else numpy.zeros((0, 3), dtype="int64"),
    }


def _convert_inputs(
    model: Model, chunk: Dict[str, Any], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[Any], Any]]:
    device = cast(HFShim, model.shims[0]).device
    kwargs = {
        "input_ids": torch.as_tensor(chunk["input_ids"], device=device),
        "attention_mask": torch.as_tensor(chunk["attention_mask"], device=device),
    }
    if chunk["position_ids"] is not None:
        kwargs["position_ids"] = torch.as_tensor(chunk["position_ids"], device=device)
    return ArgsKwargs(args=(), kwargs=kwargs), lambda d_inputs: chunk


def _convert_outputs(
    model: Model, chunk_output: Tuple[Dict[str, Any], Any], is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], ArgsKwargs]]:
    chunk, output = chunk_output
    hidden = output.last_hidden_state
    pairs = torch.as_tensor(chunk["pairs"], device=hidden.device)
    rows = torch.cat([hidden[pairs[:, 0], pairs[:, 1]], hidden[pairs[:, 0], pairs[:, 2]]], dim=1)
    Y = cast(Floats2d, torch2xp(rows.detach()))

    def backprop(dY: Floats2d) -> ArgsKwargs:
        d_rows = xp2torch(dY, device=hidden.device)
        return ArgsKwargs(args=(rows,), kwargs={"grad_tensors": d_rows})

    return model.ops.asarray2f(Y), backprop


def _shim(model: Model) -> HFShim:
    return cast(HFShim, model.layers[0].shims[0])
