"""``spanbert_ner``: span-based NER and nested span categorization.

Every candidate span from a spaCy suggester is scored over ``["no entity"] + labels``
(a softmax, so each span gets at most one label). From the same scores the component
writes two views: ``doc.spans[spans_key]``, every span whose best label scores at least
``threshold`` (nested and overlapping spans allowed, scores in the group's
``attrs["scores"]``), and ``doc.ents``, the highest-scoring non-overlapping subset.

Gold spans are read from ``doc.spans[spans_key]`` when the reference doc has that key,
else from ``doc.ents``.
"""

import warnings
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, cast

import numpy
from spacy.attrs import ENT_IOB, ENT_KB_ID, ENT_TYPE
from spacy.language import Language
from spacy.pipeline.spancat import Suggester
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, NumpyOps
from thinc.types import Floats2d, Ints1d, Ints2d, Ragged

from ..confidence import scaled_softmax
from ..decoding import decode_batch, flat_token_tags
from ..joint import initialize_doc_cats
from .head import SHARED_ENCODER_LISTENER, LabelledHead

HOST_OPS = NumpyOps()
ENT_ATTRS = [ENT_IOB, ENT_TYPE, ENT_KB_ID]

default_model_config = (
    """
[model]
@architectures = "spacy_spanbert.SpanBoundaryModel.v1"
hidden_width = 256
scorer_width = 128
width_embeddings = 16
use_inside = false
dropout = 0.1
"""
    + SHARED_ENCODER_LISTENER
)
DEFAULT_SPAN_NER_MODEL = Config().from_str(default_model_config)["model"]
DEFAULT_SPANS_KEY = "sc"


@Language.factory(
    "spanbert_ner",
    assigns=["doc.ents", "doc.spans"],
    default_config={
        "model": DEFAULT_SPAN_NER_MODEL,
        "suggester": {
            "@misc": "spacy_spanbert.ngram_range_suggester.v1",
            "min_size": 1,
            "max_size": 8,
        },
        "spans_key": DEFAULT_SPANS_KEY,
        "threshold": 0.5,
        "thresholds": {},
        "temperature": 1.0,
        "write_ents": True,
        "learn_rate_scale": 10.0,
        "scorer": {"@scorers": "spacy_spanbert.span_ner_scorer.v2"},
    },
    default_score_weights={
        "ents_f": 1.0,
        "ents_p": 0.0,
        "ents_r": 0.0,
        "ents_per_type": None,
    },
)
def make_span_ner(
    nlp: Language,
    name: str,
    model: Model[Tuple[List[Doc], Ragged], Floats2d],
    suggester: Suggester,
    spans_key: str,
    threshold: float,
    thresholds: Dict[str, float],
    temperature: float,
    write_ents: bool,
    learn_rate_scale: float,
    scorer: Optional[Callable],
) -> "SpanNER":
    """Create a ``spanbert_ner`` component.

    model: scores candidate spans over ["no entity"] + labels (see SpanBoundaryModel.v1).
    suggester: proposes candidate spans; its max size is the widest span that can be found.
    spans_key: the ``doc.spans`` key for nested spans (read for gold, written at inference).
    threshold: minimum probability of a span's best label for the span to be kept.
    thresholds: per-label minimum probabilities (``python -m spacy_spanbert tune`` writes
        them); labels not listed use ``threshold``.
    temperature: the span scores' logits are divided by it (calibration; 1.0: as trained).
    write_ents: also write the flat ``doc.ents`` (off: only ``doc.spans[spans_key]``).
    learn_rate_scale: multiplies the optimizer's learning rate for this component's own
        (freshly initialized) weights; the shared encoder is updated by the transformer
        component at the base rate. Heads need larger steps than a pretrained encoder.
    scorer: the scoring function (ents_* and spans_<key>_*).
    """
    return SpanNER(
        nlp.vocab,
        model,
        suggester,
        name=name,
        spans_key=spans_key,
        threshold=threshold,
        thresholds=thresholds,
        temperature=temperature,
        write_ents=write_ents,
        learn_rate_scale=learn_rate_scale,
        scorer=scorer,
    )


class SpanNER(LabelledHead):
    """Label spans SpanBERT's way; write flat entities and nested span groups."""

    extra_outputs = 1  # column 0: no entity

    def __init__(
        self,
        vocab: Vocab,
        model: Model[Tuple[List[Doc], Ragged], Floats2d],
        suggester: Suggester,
        name: str = "spanbert_ner",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        threshold: float = 0.5,
        thresholds: Optional[Dict[str, float]] = None,
        temperature: float = 1.0,
        write_ents: bool = True,
        learn_rate_scale: float = 10.0,
        scorer: Optional[Callable] = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.suggester = suggester
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "labels": [],
            "spans_key": spans_key,
            "threshold": threshold,
            "thresholds": dict(thresholds or {}),
            "temperature": temperature,
            "write_ents": write_ents,
            "learn_rate_scale": learn_rate_scale,
        }

    @property
    def key(self) -> str:
        """The ``doc.spans`` key for nested spans."""
        return str(self.cfg["spans_key"])

    def predict(self, docs: Iterable[Doc]) -> Tuple[Ragged, Floats2d]:
        """Score every candidate span; returns (candidates, probabilities). No side effects."""
        docs = list(docs)
        candidates = self._suggest(docs)
        X = self.model_input(docs, candidates)
        if X is None:
            return candidates, self.model.ops.alloc2f(0, len(self.labels) + 1)
        return candidates, self.model.predict(X)

    def set_annotations(
        self, docs: Iterable[Doc], candidates_scores: Tuple[Ragged, Floats2d]
    ) -> None:
        """Write ``doc.spans[key]`` (every span whose best label reaches that label's
        threshold, with its calibrated score) and ``doc.ents`` (the flat subset; the doc's
        previous entities and their KB ids are replaced)."""
        docs = list(docs)
        candidates, scores = candidates_scores
        ops = self.model.ops
        lengths = ops.to_numpy(candidates.lengths)
        bounds = ops.to_numpy(candidates.dataXd).reshape((-1, 2))
        probs = scaled_softmax(ops.to_numpy(scores), float(self.cfg["temperature"]))
        decoded = decode_batch(bounds, probs, lengths, self.label_thresholds())
        label_ids = numpy.array(
            [0] + [self.vocab.strings.add(label) for label in self.labels], dtype="uint64"
        )
        rows = list(
            zip(
                decoded.spans.starts.tolist(),
                decoded.spans.ends.tolist(),
                label_ids[decoded.spans.labels + 1].tolist(),
            )
        )
        offsets = decoded.offsets.tolist()
        span_scores = decoded.spans.scores
        key = self.key
        write_ents = bool(self.cfg["write_ents"])
        if write_ents:
            doc_lengths = numpy.array([len(doc) for doc in docs], dtype="int64")
            iob, tags = flat_token_tags(decoded, doc_lengths)
            # columns ENT_IOB, ENT_TYPE, ENT_KB_ID: one array write per doc
            values = numpy.zeros((len(iob), 3), dtype="uint64")
            values[:, 0] = iob
            values[:, 1] = label_ids[tags]
            ents = cast(Ints2d, values)
            token_offsets = [0] + numpy.cumsum(doc_lengths).tolist()
        for i, doc in enumerate(docs):
            first, last = offsets[i], offsets[i + 1]
            spans = [Span(doc, start, end, label=label) for start, end, label in rows[first:last]]
            doc.spans[key] = SpanGroup(
                doc, name=key, attrs={"scores": span_scores[first:last]}, spans=spans
            )
            if write_ents:
                doc.from_array(ENT_ATTRS, ents[token_offsets[i] : token_offsets[i + 1]])

    def gold_labels(self, examples: List[Example]) -> List[str]:
        return [span.label_ for eg in examples for span in self._reference_spans(eg)]

    def training_candidates(self, examples: List[Example]) -> Ragged:
        """The suggester's candidates for the examples' predicted docs."""
        return self._suggest([eg.predicted for eg in examples])

    def model_input(
        self, docs: List[Doc], candidates: Ragged
    ) -> Optional[Tuple[List[Doc], Ragged]]:
        return (docs, candidates) if int(candidates.lengths.sum()) else None

    def get_loss(
        self, examples: Iterable[Example], candidates_scores: Tuple[Ragged, Floats2d]
    ) -> Tuple[float, Floats2d]:
        """Mean cross-entropy over candidate spans; gold spans not among them get no row."""
        candidates, scores = candidates_scores
        ops = self.model.ops
        lengths = ops.to_numpy(candidates.lengths)
        bounds = ops.to_numpy(candidates.dataXd).reshape((-1, 2))
        label_map = {label: i + 1 for i, label in enumerate(self.labels)}
        target_cols = numpy.zeros((scores.shape[0],), dtype="i")
        offset = 0
        for eg, n in zip(examples, lengths):
            rows = {
                (int(s), int(e)): offset + j for j, (s, e) in enumerate(bounds[offset : offset + n])
            }
            for span in self._gold_spans(eg):
                if span.label_ not in label_map:
                    raise ValueError(
                        f"[{self.name}] gold span '{span.text}' has label '{span.label_}', "
                        f"unknown to this component (labels: {', '.join(self.labels)}). Add it "
                        "with add_label() or include it in the data passed to initialize()."
                    )
                row = rows.get((span.start, span.end))
                if row is not None:
                    target_cols[row] = label_map[span.label_]
            offset += n
        n_rows = max(scores.shape[0], 1)
        target = ops.asarray1i(cast(Ints1d, target_cols))
        gold_probs = scores[ops.xp.arange(scores.shape[0]), target]
        loss = float(-ops.xp.log(ops.xp.maximum(gold_probs, 1e-8)).sum()) / n_rows
        d_scores = scores.copy()
        d_scores[ops.xp.arange(scores.shape[0]), target] -= 1.0
        return loss, d_scores / n_rows

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Add labels (given, or read from the examples), warn about unreachable gold spans,
        initialize the model on a sample, and set the output bias to the label prior."""
        validate_examples(get_examples(), "SpanNER.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        sample: List[Example] = []
        gold_counts: Counter = Counter()
        unreachable: Counter = Counter()
        n_candidates = 0
        n_misaligned = 0
        widest = 0
        for eg in get_examples():
            gold = self._gold_spans(eg)
            n_misaligned += len(self._reference_spans(eg)) - len(gold)
            if labels is None:
                for span in gold:
                    self.add_label(span.label_)
            found = self._candidate_set(eg.predicted)
            n_candidates += len(found)
            for span in gold:
                if (span.start, span.end) in found:
                    gold_counts[span.label_] += 1
                else:
                    unreachable[span.label_] += 1
                    widest = max(widest, len(span))
            if len(sample) < 10:
                sample.append(eg)
        self._require_labels()
        if unreachable:
            warnings.warn(
                f"[{self.name}] {sum(unreachable.values())} gold spans in the training data "
                f"are not among the suggester's candidates and can't be predicted "
                f"(per label: {dict(unreachable)}; widest: {widest} tokens). Raise the "
                "suggester's max_size to reach them.",
                stacklevel=2,
            )
        if n_misaligned:
            warnings.warn(
                f"[{self.name}] {n_misaligned} gold spans in the training data don't align to "
                "token boundaries of the predicted docs (the reference and the pipeline's "
                "tokenizer disagree) and can't be learned.",
                stacklevel=2,
            )
        doc_cats = self.model.maybe_get_ref("doc_cats")
        if doc_cats is not None:
            initialize_doc_cats(doc_cats, get_examples(), nlp=nlp, reader=self.name)
        docs = [eg.predicted for eg in sample]
        candidates = self._suggest(docs)
        Y = self.model.ops.alloc2f(int(candidates.lengths.sum()), len(self.labels) + 1)
        self.model.initialize(X=(docs, candidates), Y=Y)
        self._set_prior_bias(gold_counts, n_candidates)

    def _set_prior_bias(self, gold_counts: Counter, n_candidates: int) -> None:
        """Start the output bias at the label prior (log frequencies among candidates), so
        early updates teach the encoder to tell spans apart instead of pushing every span
        to "no entity", which collapses the shared encoder's token vectors."""
        counts = numpy.array(
            [max(n_candidates - sum(gold_counts.values()), 1)]
            + [gold_counts[label] + 1 for label in self.labels],
            dtype="f",
        )
        self.set_output_bias(numpy.log(counts / counts.sum()))

    def _reference_spans(self, eg: Example) -> List[Span]:
        if self.key in eg.reference.spans:
            return list(eg.reference.spans[self.key])
        return list(eg.reference.ents)

    def _gold_spans(self, eg: Example) -> List[Span]:
        """Gold spans mapped onto the predicted doc's tokens (misaligned ones drop out)."""
        return list(eg.get_aligned_spans_y2x(self._reference_spans(eg), allow_overlap=True))

    def _suggest(self, docs: List[Doc]) -> Ragged:
        """The suggester's candidate spans, made on the host and moved to the model's device
        in one transfer: spaCy's suggesters build a few small arrays per doc and width, and
        as GPU kernels their launches would cost more than scoring the spans."""
        candidates = self.suggester(docs, ops=HOST_OPS)
        ops = self.model.ops
        bounds = ops.asarray2i(cast(Ints2d, candidates.dataXd))
        return Ragged(bounds, ops.asarray1i(candidates.lengths))

    def _candidate_set(self, doc: Doc) -> set:
        bounds = self.suggester([doc], ops=HOST_OPS).dataXd.reshape((-1, 2))
        return {(int(s), int(e)) for s, e in bounds}
