"""Registered model builders. Each builder's docstring explains its config arguments."""

from typing import Any, Callable, Dict, List, Optional, Tuple, cast

from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.layers import TransformerModel
from spacy_transformers.layers.hf_shim import HFShim
from thinc.api import (
    Dropout,
    Model,
    NumpyOps,
    Relu,
    Softmax,
    chain,
    get_torch_default_device,
    list2ragged,
    with_getitem,
)
from thinc.types import Floats2d, Ragged

from .encoders import load_encoder
from .layers.marker_encoder import MarkerEncoder
from .layers.pair_encoder import PairEncoder
from .layers.sigmoid_output import SigmoidOutput
from .layers.span_boundary_encoder import SpanBoundaryEncoder
from .layers.with_doc_cats import with_doc_cats
from .quantization import QUANTIZE_OPTIONS, QUANTIZED_SAVE_ERROR, quantize_linear_layers


@registry.architectures("spacy_spanbert.SpanBoundaryModel.v1")
def build_span_boundary_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    scorer_width: int = 128,
    width_embeddings: int = 16,
    use_inside: bool = False,
    dropout: float = 0.1,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """Score candidate spans SpanBERT's way: boundary tokens + width embedding.

    Input: ``(docs, spans)``, the spans a Ragged of (start, end) rows per doc as spaCy's
    suggesters return them. Output: one row per span of probabilities over
    ``["no entity"] + labels`` (a softmax; column 0 is the no-entity class).

    tok2vec: token vectors, usually a ``spacy-transformers.TransformerListener.v1`` so
        the encoder is shared with other components.
    hidden_width: width of the span representation (projection + ReLU of the boundary
        vectors and width embedding).
    scorer_width: width of the ReLU hidden layer between the span representation and the
        softmax (0: none). The head runs once per candidate span, so keep it small.
    width_embeddings: number of learned span-width embeddings; spans of that many
        tokens or more share the last one.
    use_inside: also add the mean of the span's token vectors (an "inside" pooling).
    dropout: dropout rate of the hidden layer.
    """
    return build_span_boundary_model_v2(
        tok2vec,
        hidden_width=hidden_width,
        scorer_width=scorer_width,
        width_embeddings=width_embeddings,
        use_inside=use_inside,
        use_doc_cats=False,
        dropout=dropout,
    )


@registry.architectures("spacy_spanbert.SpanBoundaryModel.v2")
def build_span_boundary_model_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    scorer_width: int = 128,
    width_embeddings: int = 16,
    use_inside: bool = False,
    use_doc_cats: bool = False,
    dropout: float = 0.1,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """SpanBoundaryModel.v1 plus, with ``use_doc_cats``, the sentence labels an earlier
    component wrote (``doc.cats``, e.g. the intent from ``spanbert_textcat``) joined to each
    span representation, so a span's label can depend on the sentence's. ``spanbert_ner``
    takes the labels from the gold cats at initialize. List the classifier and the
    transformer it listens to in ``[training] annotating_components``, so the span head
    trains on predicted cats, as it will see them. Other arguments as in v1.
    """
    span_encoder = SpanBoundaryEncoder(
        nO=hidden_width, n_widths=width_embeddings, use_inside=use_inside
    )
    span_rows: List[Model] = [with_getitem(0, chain(tok2vec, list2ragged())), span_encoder]
    # with cats, the width after the span rows is known once their labels are (initialize)
    span_width = None if use_doc_cats else hidden_width
    if use_doc_cats:
        span_rows = [with_doc_cats(chain(*span_rows))]
    scorer_layers: List[Model[Floats2d, Floats2d]] = [Dropout(dropout)]
    if scorer_width:
        scorer_layers.append(Relu(nO=scorer_width, nI=span_width, dropout=dropout))
    output_layer = Softmax(nI=scorer_width or span_width)
    model: Model[Tuple[List[Doc], Ragged], Floats2d] = chain(
        *span_rows, *scorer_layers, output_layer
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("span_encoder", span_encoder)
    model.set_ref("output_layer", output_layer)
    if use_doc_cats:
        model.set_ref("doc_cats", span_rows[0])
    return with_host_blas(model)


def with_host_blas(model: Model) -> Model:
    """On CPU, the head's matrix products through NumPy's BLAS (OpenBLAS or MKL) instead of
    Thinc's default BLIS kernels: 3-4x faster for the head's shapes on a 2-core x86 CPU, same
    results up to float rounding. On a GPU (CupyOps) nothing changes."""
    ops = model.ops
    if isinstance(ops, NumpyOps) and ops.use_blis:
        host_ops = NumpyOps(use_blis=False)
        for node in model.walk():
            node.ops = host_ops
    return model


@registry.architectures("spacy_spanbert.RelationModel.v1")
def build_relation_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    scorer_width: int = 128,
    width_embeddings: int = 16,
    dropout: float = 0.1,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """Score directed pairs of entity spans over relation labels (multi-label sigmoid).

    Input: ``(docs, pairs)``, pairs a Ragged of ``(h_start, h_end, t_start, t_end, h_type,
    t_type)`` rows per doc (this version ignores the types). Output: one row per pair of
    independent probabilities, one per label.

    tok2vec: token vectors, usually a ``spacy-transformers.TransformerListener.v1``.
    hidden_width: width of each of the three span encodings (head, tail, and the stretch
        covering both, which adds the mean of its tokens); the pair is their concatenation.
    scorer_width: width of the ReLU hidden layer before the output.
    width_embeddings: number of span-width embeddings for head and tail (4x for the
        covering stretch, which is longer).
    dropout: dropout rate after the pair encoding and the hidden layer.
    """
    return build_relation_model_v2(
        tok2vec,
        hidden_width=hidden_width,
        scorer_width=scorer_width,
        width_embeddings=width_embeddings,
        entity_type_width=0,
        dropout=dropout,
    )


@registry.architectures("spacy_spanbert.RelationModel.v2")
def build_relation_model_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 256,
    scorer_width: int = 128,
    width_embeddings: int = 16,
    entity_type_width: int = 32,
    dropout: float = 0.1,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """RelationModel.v1 plus the entity types of head and tail: a learned embedding of
    each entity label (``entity_type_width`` wide, 0: none) joins the pair encoding, so a
    relation can depend on what kinds of entity it links (Live_In: person -> location).
    The types are the labels the upstream NER assigns; ``spanbert_rel`` sets the table
    size from the entity labels it sees at initialize. Other arguments as in v1.
    """
    pair_encoder = PairEncoder(
        nO=hidden_width, n_widths=width_embeddings, type_width=entity_type_width
    )
    output_layer = SigmoidOutput(nI=scorer_width)
    model: Model[Tuple[List[Doc], Ragged], Floats2d] = chain(
        with_getitem(0, chain(tok2vec, list2ragged())),
        pair_encoder,
        Dropout(dropout),
        Relu(nO=scorer_width, nI=3 * hidden_width + 2 * entity_type_width, dropout=dropout),
        output_layer,
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("pair_encoder", pair_encoder)
    model.set_ref("output_layer", output_layer)
    return with_host_blas(model)


@registry.architectures("spacy_spanbert.MarkerRelationModel.v1")
def build_marker_relation_model(
    name: Optional[str],
    tokenizer: Optional[str] = None,
    revision: Optional[str] = None,
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    model_type: str = "bert",
    markers: str = "typed",
    passes: str = "solid",
    context: int = 32,
    max_length: int = 512,
    batch_tokens: int = 8192,
    scorer_width: int = 128,
    dropout: float = 0.1,
    quantize: Optional[str] = None,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """Score directed pairs of entity spans with a relation encoder of its own that reads
    entity markers (PURE; Zhou & Chen 2021): the hidden states at the head's and the tail's
    opening marker, concatenated, then a ReLU layer and a sigmoid per label. Same input and
    output as RelationModel.v2; slower (a second encoder).

    name, tokenizer, revision, tokenizer_config, transformer_config, model_type, quantize:
        the encoder, as in ``spacy_spanbert.TransformerModel.v1`` (a hub id or a local
        directory; trained with the component, saved with the pipeline).
    markers: "typed" (``@ * person * Anna Smith @``, the entity labels written in),
        "untyped" (``@ Anna Smith @``), both punctuation, so no new vocabulary; or
        "typed_tokens" (``[H:PER] Anna Smith [/H]``, one new vocabulary entry per marker).
    passes: "solid" (one encoder sequence per pair, markers in the text), "levitated" (one
        sequence per document, each pair's markers after the text at its spans' positions:
        the fastest) or "packed" (one sequence per head entity, its markers in the text, its
        tails' markers after it); levitated and packed: BERT, ELECTRA, RoBERTa and XLM-R.
    context: words either side of the pair read with it (solid; levitated and packed for
        documents longer than ``max_length``).
    max_length: the most wordpieces in one encoder sequence.
    batch_tokens: the most padded wordpieces the encoder runs at once; training keeps one
        such chunk's activations at a time (its forward pass runs again for the gradient).
    scorer_width: width of the ReLU hidden layer before the output.
    dropout: dropout rate before and after the hidden layer.
    """
    if quantize is not None and quantize not in QUANTIZE_OPTIONS:
        raise ValueError(f"quantize = {quantize!r}: expected one of {QUANTIZE_OPTIONS} or null")
    marker_encoder = MarkerEncoder(
        {
            "name": name or "",
            "tokenizer": tokenizer,
            "revision": revision,
            "model_type": model_type,
        },
        {
            "markers": markers,
            "passes": passes,
            "context": context,
            "max_length": max_length,
            "batch_tokens": batch_tokens,
        },
        tokenizer_config=tokenizer_config,
        transformer_config=transformer_config,
        quantize=quantize,
    )
    output_layer = SigmoidOutput(nI=scorer_width)
    hidden_layer = Relu(nO=scorer_width)
    model: Model[Tuple[List[Doc], Ragged], Floats2d] = chain(
        marker_encoder, Dropout(dropout), hidden_layer, Dropout(dropout), output_layer
    )
    initialize_chain = model.init

    def init(model: Model, X: Any = None, Y: Any = None) -> None:
        # the encoder's width is known once it is loaded, with or without sample input
        marker_encoder.initialize()
        hidden_layer.set_dim("nI", marker_encoder.get_dim("nO"))
        initialize_chain(model, X, Y)

    model.init = init
    model.set_ref("marker_encoder", marker_encoder)
    model.set_ref("output_layer", output_layer)
    return with_host_blas(model)


@registry.architectures("spacy_spanbert.TransformerModel.v1")
def build_transformer_model(
    name: Optional[str],
    get_spans: Callable[[List[Doc]], List[List[Span]]],
    tokenizer: Optional[str] = None,
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    model_type: str = "bert",
    mixed_precision: bool = False,
    grad_scaler_config: Optional[Dict[str, Any]] = None,
    revision: Optional[str] = None,
    quantize: Optional[str] = None,
) -> Model[List[Doc], FullTransformerBatch]:
    """spacy-transformers' TransformerModel, with SpanBERT's checkpoints and casing handled.

    Use it as the model of the ``transformer`` component. Same arguments as
    ``spacy-transformers.TransformerModel.v3`` plus:

    name: a local Hugging Face checkpoint directory or a hub id. A hub id is read from the
        Hugging Face cache when it is there (no network), else downloaded into it once.
    tokenizer: a directory or hub id with the tokenizer files, for checkpoints that ship
        none. SpanBERT's hub ids get bert-base-cased's (or bert-large-cased's) vocabulary
        when it is not set; for a local SpanBERT directory, point it at that vocabulary.
        Casing follows the vocabulary unless ``tokenizer_config`` sets ``do_lower_case``;
        a tokenizer whose casing contradicts its vocabulary is refused.
    model_type: used when config.json lacks ``model_type`` (SpanBERT's may).
    revision: a branch, tag or commit of a hub id (default: main).
    quantize: "int8" to run the encoder's linear layers in int8 on CPU (dynamic
        quantization; on CPUs without AVX-512 VNNI each layer's feed-forward output
        projection stays in fp32), applied when a trained pipeline is loaded; set it at load time,
        ``spacy.load(path, config={"components.transformer.model.quantize": "int8"})``.
        None: fp32. An inference setting: quantized layers can't be trained.

    The checkpoint is read when the pipeline is initialized; a trained pipeline saves
    the weights and tokenizer itself and loads without them, and without the hub.
    """
    if quantize is not None and quantize not in QUANTIZE_OPTIONS:
        raise ValueError(f"quantize = {quantize!r}: expected one of {QUANTIZE_OPTIONS} or null")
    model = QuantizableTransformerModel(
        name or "",
        get_spans,
        tokenizer_config=dict(tokenizer_config or {}),
        transformer_config=dict(transformer_config or {}),
        mixed_precision=mixed_precision,
        grad_scaler_config=dict(grad_scaler_config or {}),
    )
    model.attrs["tokenizer_name"] = tokenizer
    model.attrs["revision"] = revision
    model.attrs["model_type"] = model_type
    model.attrs["quantize"] = quantize
    model.init = _init_from_checkpoint
    return model


class QuantizableTransformerModel(TransformerModel):
    """spacy-transformers' model, whose encoder is quantized once its weights are loaded when
    ``attrs["quantize"]`` says so."""

    def from_bytes(self, bytes_data: bytes) -> "QuantizableTransformerModel":
        quantize = self.attrs.get("quantize")  # this load's setting, not the saved one
        super().from_bytes(bytes_data)
        self.attrs["quantize"] = quantize
        if quantize and self.attrs["has_transformer"]:
            shim = cast(HFShim, self.layers[0].shims[0])
            shim._model = quantize_linear_layers(shim._model)
            shim._hfmodel.transformer = shim._model
            self.attrs["quantized"] = True
        return self

    def to_bytes(self) -> bytes:
        if self.attrs.get("quantized"):
            raise ValueError(QUANTIZED_SAVE_ERROR)
        return super().to_bytes()


def _init_from_checkpoint(
    model: TransformerModel, X: Optional[List[Doc]] = None, Y: Any = None
) -> None:
    if model.attrs["has_transformer"]:
        return
    hf_model = load_encoder(
        model.attrs["name"] or None,
        tokenizer=model.attrs["tokenizer_name"],
        revision=model.attrs["revision"],
        tokenizer_config=dict(model._init_tokenizer_config),
        transformer_config=dict(model._init_transformer_config),
        model_type=model.attrs["model_type"],
    )
    hf_model.transformer.to(get_torch_default_device())  # as spacy-transformers' own init
    model.attrs["set_transformer"](model, hf_model)
