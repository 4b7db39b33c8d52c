"""Why a span, a relation or a sentence label: attributions over the encoder's input.

The probability explained is the one the component writes to the doc (after its temperature;
for relations, times the entities' scores when ``entity_scores_key`` is set). It is computed
from the encoder's input word embeddings: the Hugging Face encoder runs in PyTorch, and the
component's Thinc head runs behind a ``torch.autograd.Function`` whose backward is Thinc's
backprop (the head reads the encoder through its transformer listener, fed here as
``spacy train`` feeds it). Captum then attributes that probability to the embeddings:

- ``integrated_gradients`` (default): the path integral from a baseline where every word is
  the tokenizer's mask token, ``steps`` points;
- ``gradient_x_input``: one gradient, times the embeddings minus the baseline;
- ``occlusion``: each word replaced by mask tokens in turn, the drop in probability (no
  gradient: the one method for int8-quantized encoders).

Wordpiece attributions are summed over the embedding and then over each word's wordpieces
(over every strided window that holds it). Dropout is off throughout; the pipeline's weights
and predictions are left as they were, with no gradient on the encoder's parameters.
"""

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
import torch
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.listener import TransformerListener
from thinc.api import Model, Ragged

from .pipeline.span_ner import SpanNER

METHODS = ("integrated_gradients", "gradient_x_input", "occlusion")
GRADIENT_METHODS = ("integrated_gradients", "gradient_x_input")


@dataclass(frozen=True)
class SpanTarget:
    """A span (token offsets, ``end`` exclusive) with a label: predicted or not."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class RelationTarget:
    """A relation from ``head`` to ``tail`` (entity Spans of the doc) with a label."""

    head: Span
    label: str
    tail: Span


@dataclass(frozen=True)
class CatTarget:
    """A sentence label of ``spanbert_textcat``."""

    label: str


Target = Union[SpanTarget, RelationTarget, CatTarget]


@dataclass
class Explanation:
    """One attribution per token of ``doc`` for ``target``'s ``probability``."""

    doc: Doc
    target: Target
    method: str
    probability: float
    attributions: numpy.ndarray  # (n_tokens,)
    seconds: float

    @property
    def target_tokens(self) -> Tuple[int, ...]:
        """The tokens of the target's own span(s)."""
        return target_tokens(self.target)


class ExplainError(ValueError):
    """A target or method that can't be explained: the message says why."""


def target_tokens(target: Target) -> Tuple[int, ...]:
    if isinstance(target, SpanTarget):
        return tuple(range(target.start, target.end))
    if isinstance(target, RelationTarget):
        return (
            *range(target.head.start, target.head.end),
            *range(target.tail.start, target.tail.end),
        )
    return ()


def explain(
    nlp: Language,
    doc: Union[str, Doc],
    target: Target,
    *,
    method: str = "integrated_gradients",
    steps: int = 20,
    component: Optional[str] = None,
) -> Explanation:
    """Attribute ``target``'s probability in ``doc`` (a text is run through ``nlp`` first) to
    each of its tokens with ``method``; ``component`` names the component when the pipeline
    has several of the target's kind."""
    from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients

    if method not in METHODS:
        raise ExplainError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    doc = nlp(doc) if isinstance(doc, str) else doc
    started = time.perf_counter()
    with Probability(nlp, doc, target, component) as probability:
        if method in GRADIENT_METHODS and probability.quantized:
            raise ExplainError(
                f"{method} needs gradients, and this pipeline's encoder is int8-quantized "
                "(no gradients through its layers): use method='occlusion', or load the "
                "pipeline without quantize"
            )
        inputs, baseline = probability.embeddings(), probability.baseline()
        if method == "integrated_gradients":
            scores = IntegratedGradients(probability.batch).attribute(
                inputs, baselines=baseline, n_steps=steps, internal_batch_size=1
            )
        elif method == "gradient_x_input":
            # the gradient times the input's difference from the baseline: the function of
            # that difference, attributed by Captum's gradient x input
            def shifted(difference: torch.Tensor) -> torch.Tensor:
                return probability.batch(baseline + difference)

            scores = InputXGradient(shifted).attribute(inputs - baseline)
        else:
            scores = FeatureAblation(probability.batch).attribute(
                inputs, baselines=baseline, feature_mask=probability.word_mask()
            )
        with torch.no_grad():
            value = float(probability.batch(probability.embeddings()).item())
        attributions = probability.to_words(scores.detach(), summed=method != "occlusion")
    return Explanation(doc, target, method, value, attributions, time.perf_counter() - started)


def explain_targets(
    nlp: Language,
    doc: Doc,
    *,
    span: Optional[str] = None,
    label: Optional[str] = None,
    relation: Optional[str] = None,
    cat: Optional[str] = None,
) -> List[Target]:
    """The targets the command line names (``START:END`` with a label, a relation as
    ``HEAD_START:HEAD_END:LABEL:TAIL_START:TAIL_END``, a cat), or with none every span,
    relation and sentence label the pipeline wrote to ``doc``."""
    if span is not None:
        if label is None:
            raise ExplainError("--span needs --label")
        start, end = _offsets(span, 2)
        return [SpanTarget(start, end, label)]
    if relation is not None:
        parts = relation.split(":")
        if len(parts) != 5:
            raise ExplainError(f"--relation {relation}: expected HS:HE:LABEL:TS:TE")
        h_start, h_end = _offsets(":".join(parts[:2]), 2)
        t_start, t_end = _offsets(":".join(parts[3:]), 2)
        entities = {(e.start, e.end): e for e in _relation_entities(nlp, doc)}
        found = [entities.get(key) for key in ((h_start, h_end), (t_start, t_end))]
        if found[0] is None or found[1] is None:
            raise ExplainError(
                f"--relation {relation}: head and tail must be entities the pipeline found: "
                + ", ".join(f"{e.start}:{e.end} {e.label_}" for e in entities.values())
            )
        return [RelationTarget(found[0], parts[2], found[1])]
    if cat is not None:
        return [CatTarget(cat)]
    from .relations import get_relations

    targets: List[Target] = []
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, SpanNER) and pipe.key in doc.spans:
            targets += [SpanTarget(s.start, s.end, s.label_) for s in doc.spans[pipe.key]]
    targets += [RelationTarget(r.head, r.label, r.tail) for r in get_relations(doc)]
    if any(nlp.get_pipe_meta(n).factory == "spanbert_textcat" for n in nlp.pipe_names):
        targets += [CatTarget(label) for label, score in doc.cats.items() if score >= 0.5]
    if not targets:
        raise ExplainError("the pipeline predicted nothing in this text: name a target")
    return targets


def _offsets(text: str, n: int) -> Tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(":"))
    except ValueError:
        values = ()
    if len(values) != n:
        raise ExplainError(f"{text}: expected START:END token offsets")
    return values


def _relation_entities(nlp: Language, doc: Doc) -> List[Span]:
    pipe = _component(nlp, "spanbert_rel", None)
    key = pipe.cfg.get("spans_key")
    return list(doc.spans[key]) if key and key in doc.spans else list(doc.ents)


def probability_without(
    nlp: Language,
    doc: Doc,
    target: Target,
    removed: List[int],
    *,
    component: Optional[str] = None,
) -> float:
    """``target``'s probability with the tokens ``removed`` replaced by mask tokens."""
    with Probability(nlp, doc, target, component) as probability, torch.no_grad():
        inputs = probability.embeddings()
        mask = probability.wordpiece_mask(removed)
        inputs = torch.where(mask[None, :, :, None], probability.baseline(), inputs)
        return float(probability.batch(inputs).item())


class Probability:
    """The written probability of one target as a differentiable function of the encoder's
    input word embeddings, shaped (batch, windows, wordpieces, width) -> (batch,)."""

    def __init__(self, nlp: Language, doc: Doc, target: Target, component: Optional[str]) -> None:
        self.nlp = nlp
        self.doc = doc
        self.target = target
        self.pipe = _component(nlp, FACTORIES[type(target)], component)
        self.listener = _listener(self.pipe.model, self.pipe.name)
        self.trf_data = doc._.trf_data
        if self.trf_data is None:
            raise ExplainError("the doc has no transformer output: run it through the pipeline")
        upstream = _upstream(nlp, self.listener)
        self.shim = next(
            s for node in upstream.model.walk() for s in node.shims if isinstance(s, HFShim)
        )
        self.encoder = self.shim._model
        self.quantized = any("quantized" in type(m).__module__ for m in self.encoder.modules())
        wordpieces = self.trf_data.wordpieces
        self.input_ids = torch.as_tensor(numpy.asarray(wordpieces.input_ids), dtype=torch.long)
        self.attention_mask = torch.as_tensor(numpy.asarray(wordpieces.attention_mask))
        token_type_ids = getattr(wordpieces, "token_type_ids", None)
        self.token_type_ids = (
            torch.as_tensor(numpy.asarray(token_type_ids)) if token_type_ids is not None else None
        )
        tokenizer = self.shim._hfmodel.tokenizer
        if tokenizer is None or tokenizer.mask_token_id is None:
            raise ExplainError("the encoder's tokenizer has no mask token to remove words with")
        self.mask_token_id = int(tokenizer.mask_token_id)
        self.special_ids = set(tokenizer.all_special_ids)
        self._restore: List[Callable[[], None]] = []
        self._heads = [self.pipe, *self._entity_scorers()]

    def __enter__(self) -> "Probability":
        was_training = self.encoder.training
        self.encoder.eval()
        self._restore.append(lambda: self.encoder.train(was_training))
        for pipe in self._heads:
            for node in pipe.model.walk():
                if "dropout_rate" in node.attrs:
                    self._restore.append(_restorer(node.attrs, "dropout_rate"))
                    node.attrs["dropout_rate"] = 0.0
        return self

    def _entity_scorers(self) -> List[Any]:
        """The spanbert_ner whose scores a relation's probability is multiplied by."""
        key = getattr(self.pipe, "cfg", {}).get("entity_scores_key")
        if not isinstance(self.target, RelationTarget) or not key:
            return []
        return [
            pipe for _, pipe in self.nlp.pipeline if isinstance(pipe, SpanNER) and pipe.key == key
        ][:1]

    def __exit__(self, *exc: Any) -> None:
        for restore in reversed(self._restore):
            restore()
        for pipe in self._heads:
            listener = _listener(pipe.model, pipe.name)
            listener._batch_id = listener._outputs = listener._backprop = None
        self.encoder.zero_grad(set_to_none=True)

    def embeddings(self) -> torch.Tensor:
        """(1, windows, wordpieces, width) word embeddings of the doc's wordpieces."""
        with torch.no_grad():
            return self.encoder.get_input_embeddings()(self.input_ids)[None].clone()

    def wordpiece_mask(self, tokens: List[int]) -> torch.Tensor:
        """(windows, wordpieces) True at the wordpieces of ``tokens``."""
        mask = numpy.zeros(self.input_ids.numel(), dtype=bool)
        align = self.trf_data.align
        for i in tokens:
            mask[numpy.asarray(align[i].dataXd).ravel()] = True
        return torch.as_tensor(mask.reshape(self.input_ids.shape))

    def baseline(self) -> torch.Tensor:
        """The embeddings with every word's wordpieces replaced by the mask token's (special
        tokens and padding as they are)."""
        words = self.wordpiece_mask(list(range(len(self.doc))))
        ids = torch.where(
            words, torch.full_like(self.input_ids, self.mask_token_id), self.input_ids
        )
        with torch.no_grad():
            return self.encoder.get_input_embeddings()(ids)[None].clone()

    def word_mask(self) -> torch.Tensor:
        """(1, windows, wordpieces, 1) the token index of each wordpiece (one feature per
        word for occlusion); special tokens and padding get a feature of their own."""
        owner = numpy.full(self.input_ids.numel(), len(self.doc), dtype="int64")
        for i in range(len(self.doc)):
            owner[numpy.asarray(self.trf_data.align[i].dataXd).ravel()] = i
        return torch.as_tensor(owner.reshape(self.input_ids.shape))[None, :, :, None]

    def to_words(self, scores: torch.Tensor, summed: bool = True) -> numpy.ndarray:
        """(n_tokens,) wordpiece scores summed over the width and each token's wordpieces;
        with ``summed`` False, the score each element of a token's group holds (occlusion
        gives the whole group one value)."""
        per_element = scores[0].reshape(-1, scores.shape[-1]).numpy()
        words = []
        for i in range(len(self.doc)):
            rows = numpy.asarray(self.trf_data.align[i].dataXd).ravel()
            if not len(rows):
                words.append(0.0)
            elif summed:
                words.append(float(per_element[rows].sum()))
            else:
                words.append(float(per_element[rows[0], 0]))
        return numpy.array(words)

    def batch(self, inputs: torch.Tensor) -> torch.Tensor:
        """The probability for each item of a batch of embeddings."""
        return torch.stack([self.single(item) for item in inputs])

    def single(self, embeddings: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(
            inputs_embeds=embeddings,
            attention_mask=self.attention_mask,
            token_type_ids=self.token_type_ids,
        ).last_hidden_state
        return _score(self, hidden)

    def head(self, pipe: Any, X: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        """The Thinc model of ``pipe`` on ``X`` as a function of the encoder's hidden states."""
        listener = _listener(pipe.model, pipe.name)
        return lambda hidden: ThincHead.apply(hidden, self, pipe.model, listener, X)


class ThincHead(torch.autograd.Function):
    """A component's Thinc model over the encoder's hidden states: forward feeds its listener
    the hidden states, backward is Thinc's backprop down to them."""

    @staticmethod
    def forward(ctx, hidden, probability, model, listener, X):  # type: ignore[no-untyped-def]
        trf_data = probability.trf_data
        outputs = type(trf_data.model_output)(last_hidden_state=hidden.detach().numpy())
        fed = dataclasses.replace(trf_data, model_output=outputs)
        captured: List[Any] = []

        def capture(d_outputs: List[Any]) -> List[Doc]:
            captured.append(d_outputs)
            return []

        listener.receive(TransformerListener.get_batch_id([probability.doc]), [fed], capture)
        Y, backprop = model.begin_update(X)
        ctx.backprop, ctx.captured = backprop, captured
        ctx.shape, ctx.model = hidden.shape, model
        ctx.grad_factor = (
            next((n.attrs["grad_factor"] for n in model.walk() if n.name == "trfs2arrays"), 1.0)
            or 1.0
        )
        ctx.Y = numpy.asarray(model.ops.to_numpy(Y))
        return torch.as_tensor(ctx.Y)

    @staticmethod
    def backward(ctx, d_output):  # type: ignore[no-untyped-def]
        ctx.backprop(_output_layer_gradient(ctx.model, ctx.Y, d_output.numpy()))
        (d_outputs,) = ctx.captured
        # the listener's pooling scales what it sends back by its grad_factor
        d_hidden = d_outputs[0].model_output.last_hidden_state / ctx.grad_factor
        return torch.as_tensor(numpy.asarray(d_hidden)).reshape(ctx.shape), None, None, None, None


def _output_layer_gradient(model: Model, Y: numpy.ndarray, dY: numpy.ndarray) -> numpy.ndarray:
    """What the model's backprop takes for the gradient ``dY`` of its outputs ``Y``. Thinc's
    Softmax and spacy-spanbert's SigmoidOutput take the gradient of their logits (they are
    trained with cross-entropy, whose gradient there is ``Y - truth``), so the outputs'
    Jacobian is applied here; Logistic applies its own."""
    last = model
    while last.layers:
        last = last.layers[-1]
    if last.name == "softmax":
        dY = Y * (dY - (dY * Y).sum(axis=-1, keepdims=True))
    elif last.name == "sigmoid_output":
        dY = dY * Y * (1 - Y)
    return dY.astype("float32")


def _score(probability: Probability, hidden: torch.Tensor) -> torch.Tensor:
    target, pipe, doc = probability.target, probability.pipe, probability.doc
    if isinstance(target, SpanTarget):
        return _span_score(probability, pipe, target.start, target.end, target.label, hidden)
    if isinstance(target, CatTarget):
        scores = probability.head(pipe, [doc])(hidden)
        return scores[0, list(pipe.labels).index(target.label)]
    return _relation_score(probability, target, hidden)


def _span_score(
    probability: Probability, pipe: Any, start: int, end: int, label: str, hidden: torch.Tensor
) -> torch.Tensor:
    if label not in pipe.labels:
        raise ExplainError(f"{pipe.name} has no label {label!r}; it has {', '.join(pipe.labels)}")
    ops = pipe.model.ops
    spans = Ragged(ops.asarray2i(numpy.array([[start, end]], dtype="i")), ops.asarray1i([1]))
    probs = probability.head(pipe, ([probability.doc], spans))(hidden)[0]
    logits = torch.log(probs.clamp_min(1e-30)) / float(pipe.cfg["temperature"])
    return torch.softmax(logits, -1)[1 + list(pipe.labels).index(label)]


def _relation_score(
    probability: Probability, target: RelationTarget, hidden: torch.Tensor
) -> torch.Tensor:
    pipe, doc = probability.pipe, probability.doc
    if target.label not in pipe.labels:
        raise ExplainError(
            f"{pipe.name} has no label {target.label!r}; it has {', '.join(pipe.labels)}"
        )
    pairs = [(target.head, target.tail)]
    if pipe.cfg["decision"] == "pair":
        pairs.append((target.tail, target.head))
    probs = probability.head(pipe, ([doc], pipe._pairs_ragged([pairs])))(hidden)
    col = list(pipe.labels).index(target.label)
    temperature = float(pipe.cfg["temperature"])
    clipped = probs.clamp(1e-7, 1 - 1e-7)
    logits = (torch.log(clipped) - torch.log1p(-clipped)) / temperature
    if pipe.cfg["decision"] == "multilabel":
        score = torch.sigmoid(logits[0, col])
    else:
        cells = torch.cat([logits.new_zeros(1), logits.reshape(-1)])
        score = torch.softmax(cells, 0)[1 + col]
    for ner in probability._heads[1:]:
        for span in (target.head, target.tail):
            if span.label_ in ner.labels:
                score = score * _span_score(
                    probability, ner, span.start, span.end, span.label_, hidden
                )
    return score


FACTORIES = {
    SpanTarget: "spanbert_ner",
    RelationTarget: "spanbert_rel",
    CatTarget: "spanbert_textcat",
}


def _component(nlp: Language, factory: str, name: Optional[str]) -> Any:
    """The component ``name``, or the pipeline's first made by ``factory``."""
    if name is not None:
        return nlp.get_pipe(name)
    names = [n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory == factory]
    if not names:
        raise ExplainError(f"the pipeline has no {factory} to explain that with")
    return nlp.get_pipe(names[0])


def _listener(model: Model, name: str) -> TransformerListener:
    for node in model.walk():
        if isinstance(node, TransformerListener):
            return node
    raise ExplainError(
        f"{name} reads no transformer listener: only components on a shared transformer "
        "are explained"
    )


def _upstream(nlp: Language, listener: TransformerListener) -> Any:
    if listener.upstream_name in nlp.pipe_names:
        return nlp.get_pipe(listener.upstream_name)
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory == "transformer":
            return nlp.get_pipe(name)
    raise ExplainError("the pipeline has no transformer component")


def _restorer(attrs: Dict[str, Any], key: str) -> Callable[[], None]:
    value = attrs[key]
    return lambda: attrs.__setitem__(key, value)
