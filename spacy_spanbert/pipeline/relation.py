"""``spanbert_rel``: directed relations between entity spans, on the shared encoder.

Candidates are the ordered pairs of distinct entity spans in a doc (``doc.ents``, or
``doc.spans[key]`` with ``spans_key``) at most ``max_distance`` tokens apart: the gold
entities at training, the entities upstream components (or the user) set at inference. A
relation whose head and tail are the same span is never a candidate; ``initialize`` counts
the gold relations no candidate reaches. ``decision`` says how labels are chosen:

- ``multilabel``: an independent probability per label and pair; every label at or above
  ``threshold`` is kept (end-to-end extraction, where a pair may hold several relations);
- ``directed``: one softmax per ordered pair over "no relation" and the labels (TACRED);
- ``pair``: one softmax per unordered pair over "no relation" and each label in each
  direction (SemEval-2010 Task 8).

Relations are stored in ``doc._.relations`` (see :mod:`spacy_spanbert.relations`).
"""

import warnings
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple, cast

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats2d, Ints2d, Ragged

from ..confidence import scaled_sigmoid
from ..pair_decisions import (
    DECISIONS,
    RowKey,
    decision_groups,
    logits_from_probs,
    softmax_decisions,
    softmax_loss,
)
from ..relations import Relation, get_relations, set_relations
from .head import SHARED_ENCODER_LISTENER, LabelledHead

default_model_config = (
    """
[model]
@architectures = "spacy_spanbert.RelationModel.v2"
hidden_width = 256
scorer_width = 128
width_embeddings = 16
entity_type_width = 32
dropout = 0.1
"""
    + SHARED_ENCODER_LISTENER
)
DEFAULT_RELATION_MODEL = Config().from_str(default_model_config)["model"]

PairKey = Tuple[int, int, int, int]


@Language.factory(
    "spanbert_rel",
    assigns=["doc._.relations"],
    default_config={
        "model": DEFAULT_RELATION_MODEL,
        "spans_key": None,
        "entity_scores_key": None,
        "max_distance": 100,
        "threshold": 0.5,
        "thresholds": {},
        "temperature": 1.0,
        "decision": "multilabel",
        "learn_rate_scale": 10.0,
        "scorer": {"@scorers": "spacy_spanbert.relation_scorer.v1"},
    },
    default_score_weights={
        "rel_micro_f": 1.0,
        "rel_micro_p": 0.0,
        "rel_micro_r": 0.0,
        "rel_per_type": None,
    },
)
def make_relation_extractor(
    nlp: Language,
    name: str,
    model: Model[Tuple[List[Doc], Ragged], Floats2d],
    spans_key: Optional[str],
    entity_scores_key: Optional[str],
    max_distance: int,
    threshold: float,
    thresholds: Dict[str, float],
    temperature: float,
    decision: str,
    learn_rate_scale: float,
    scorer: Optional[Callable],
) -> "RelationExtractor":
    """Create a ``spanbert_rel`` component.

    model: scores (head, tail) pairs over relation labels (see RelationModel.v2).
    spans_key: read entities from ``doc.spans[spans_key]`` instead of ``doc.ents``.
    entity_scores_key: the ``doc.spans`` key whose ``"scores"`` attribute scores the entities
        (``spanbert_ner``'s ``spans_key``); with it a relation's score, and what its threshold
        is compared with, is the relation's probability times its two entities' scores: the
        probability that all three are right. An entity without a score there counts 1.0.
    max_distance: the largest number of tokens between two entities of a candidate pair
        (caps the n^2 pairs of long docs).
    threshold: minimum probability for a relation to be stored.
    thresholds: per-label minimum probabilities (``python -m spacy_spanbert tune`` writes
        them); labels not listed use ``threshold``.
    temperature: the relation scores' logits are divided by it (calibration; 1.0: as trained).
    decision: "multilabel" (a sigmoid per label), "directed" (a softmax per ordered pair) or
        "pair" (a softmax per unordered pair over both directions).
    learn_rate_scale: multiplies the learning rate for this component's own weights.
    scorer: the scoring function (strict relation P/R/F).
    """
    return RelationExtractor(
        nlp.vocab,
        model,
        name=name,
        spans_key=spans_key,
        entity_scores_key=entity_scores_key,
        max_distance=max_distance,
        threshold=threshold,
        thresholds=thresholds,
        temperature=temperature,
        decision=decision,
        learn_rate_scale=learn_rate_scale,
        scorer=scorer,
    )


class RelationExtractor(LabelledHead):
    """Classify directed pairs of entity spans into relation labels (or none)."""

    learned_cfg = ("labels", "entity_labels")

    def __init__(
        self,
        vocab: Vocab,
        model: Model[Tuple[List[Doc], Ragged], Floats2d],
        name: str = "spanbert_rel",
        *,
        spans_key: Optional[str] = None,
        entity_scores_key: Optional[str] = None,
        max_distance: int = 100,
        threshold: float = 0.5,
        thresholds: Optional[Dict[str, float]] = None,
        temperature: float = 1.0,
        decision: str = "multilabel",
        learn_rate_scale: float = 10.0,
        scorer: Optional[Callable] = None,
    ) -> None:
        if decision not in DECISIONS:
            raise ValueError(
                f"[{name}] decision '{decision}': expected one of {', '.join(DECISIONS)}"
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "labels": [],
            "entity_labels": [],
            "spans_key": spans_key,
            "entity_scores_key": entity_scores_key,
            "max_distance": max_distance,
            "threshold": threshold,
            "thresholds": dict(thresholds or {}),
            "temperature": temperature,
            "decision": decision,
            "learn_rate_scale": learn_rate_scale,
        }

    def candidate_pairs(self, entity_lists: List[List[Span]]) -> List[List[Tuple[Span, Span]]]:
        """Per doc, the ordered pairs of distinct entities at most ``max_distance`` tokens
        apart (head-major, in the entities' order), found for the whole batch at once."""
        entities = [span for doc_entities in entity_lists for span in doc_entities]
        sizes = numpy.array([len(doc_entities) for doc_entities in entity_lists], dtype="i")
        bounds = numpy.array([(span.start, span.end) for span in entities], dtype="i")
        heads, tails = pair_indices(bounds.reshape((-1, 2)), sizes, int(self.cfg["max_distance"]))
        docs = numpy.repeat(numpy.arange(len(sizes)), sizes)[heads]
        pairs: List[List[Tuple[Span, Span]]] = [[] for _ in entity_lists]
        for doc, head, tail in zip(docs.tolist(), heads.tolist(), tails.tolist()):
            pairs[doc].append((entities[head], entities[tail]))
        return pairs

    def entity_confidence(
        self, docs: List[Doc], pairs: List[List[Tuple[Span, Span]]]
    ) -> numpy.ndarray:
        """(n_pairs,) per candidate pair, in order, the product of its head's and tail's scores
        from ``doc.spans[entity_scores_key].attrs["scores"]`` (1.0 without that key, or for an
        entity it doesn't score)."""
        key = self.cfg["entity_scores_key"]
        factors: List[float] = []
        for doc, doc_pairs in zip(docs, pairs):
            group = doc.spans.get(key) if key else None
            scores = group.attrs.get("scores") if group is not None else None
            by_span = {}
            if group is not None and scores is not None:
                by_span = {(s.start, s.end, s.label): float(x) for s, x in zip(group, scores)}
            factors.extend(
                by_span.get((head.start, head.end, head.label), 1.0)
                * by_span.get((tail.start, tail.end, tail.label), 1.0)
                for head, tail in doc_pairs
            )
        return numpy.array(factors, dtype="f")

    def predict(self, docs: Iterable[Doc]) -> Tuple[List[List[Tuple[Span, Span]]], Floats2d]:
        """Score every candidate pair; returns (pairs per doc, probabilities). No side effects."""
        docs = list(docs)
        pairs = self.candidate_pairs([self._entities(doc) for doc in docs])
        X = self.model_input(docs, pairs)
        if X is None:
            return pairs, self.model.ops.alloc2f(0, len(self.labels))
        return pairs, self.model.predict(X)

    def set_annotations(
        self, docs: Iterable[Doc], pairs_scores: Tuple[List[List[Tuple[Span, Span]]], Floats2d]
    ) -> None:
        """Store the relations decided (see ``decision``) in ``doc._.relations``."""
        pairs, scores = pairs_scores
        docs = list(docs)
        probs = self.model.ops.to_numpy(scores)
        temperature = float(self.cfg["temperature"])
        thresholds = self.label_thresholds()
        entities = self.entity_confidence(docs, pairs)
        rows = [(i, head, tail) for i, doc_pairs in enumerate(pairs) for head, tail in doc_pairs]
        if self.cfg["decision"] == "multilabel":
            probs = scaled_sigmoid(probs, temperature) * entities[:, None]
            kept = [
                (row, int(col), float(probs[row, col]))
                for row in range(len(rows))
                for col in numpy.flatnonzero(probs[row] >= thresholds)
            ]
        else:
            groups = decision_groups(row_keys(pairs), self.cfg["decision"])
            logits = logits_from_probs(probs) / temperature
            kept = softmax_decisions(logits, groups, thresholds, entities)
        per_doc: List[List[Relation]] = [[] for _ in pairs]
        for row, col, score in sorted(kept):
            i, head, tail = rows[row]
            per_doc[i].append(Relation(head, self.labels[col], tail, score))
        for doc, relations in zip(docs, per_doc):
            set_relations(doc, relations)

    def gold_labels(self, examples: List[Example]) -> List[str]:
        return [rel.label for eg in examples for rel in get_relations(eg.reference)]

    def training_candidates(self, examples: List[Example]) -> List[List[Tuple[Span, Span]]]:
        """Pairs of the gold entities, per example."""
        return self.candidate_pairs([self._gold_entities(eg) for eg in examples])

    def model_input(
        self, docs: List[Doc], pairs: List[List[Tuple[Span, Span]]]
    ) -> Optional[Tuple[List[Doc], Ragged]]:
        return (docs, self._pairs_ragged(pairs)) if any(pairs) else None

    def get_loss(
        self,
        examples: Iterable[Example],
        pairs_scores: Tuple[List[List[Tuple[Span, Span]]], Floats2d],
    ) -> Tuple[float, Floats2d]:
        """Mean binary cross-entropy over pairs and labels (``multilabel``), or mean
        cross-entropy over the decisions (``directed``, ``pair``); gradient w.r.t. the logits."""
        pairs, scores = pairs_scores
        target = numpy.zeros(scores.shape, dtype="f")
        label_map = {label: i for i, label in enumerate(self.labels)}
        offset = 0
        for eg, doc_pairs in zip(examples, pairs):
            gold = self._gold_relations(eg)
            for row, (head, tail) in enumerate(doc_pairs, start=offset):
                for label in gold.get(_pair_key(head, tail), ()):
                    if label not in label_map:
                        raise ValueError(
                            f"[{self.name}] gold relation label '{label}' is unknown to this "
                            f"component (labels: {', '.join(self.labels)}). Add it with "
                            "add_label() or include it in the data passed to initialize()."
                        )
                    target[row, label_map[label]] = 1.0
            offset += len(doc_pairs)
        ops = self.model.ops
        if self.cfg["decision"] != "multilabel":
            groups = decision_groups(row_keys(pairs), self.cfg["decision"])
            targets = [_group_target(target, rows) for rows in groups]
            logits = logits_from_probs(ops.to_numpy(scores))
            loss, d_logits = softmax_loss(logits, groups, targets)
            return loss, ops.asarray2f(cast(Floats2d, d_logits.astype("f")))
        truth = ops.asarray2f(cast(Floats2d, target))
        n = max(scores.size, 1)
        probs = ops.xp.clip(scores, 1e-7, 1 - 1e-7)
        loss = -(truth * ops.xp.log(probs) + (1 - truth) * ops.xp.log(1 - probs)).sum() / n
        return float(loss), (scores - truth) / n

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Add labels (given, or read from the gold relations), record the gold entity
        labels (the model's entity types), initialize the model on a sample, and start the
        output bias at each label's share of candidate pairs."""
        validate_examples(get_examples(), "RelationExtractor.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        counts: Counter = Counter()
        n_pairs = 0
        sample_docs: List[Doc] = []
        sample_pairs: List[List[Tuple[Span, Span]]] = []
        entity_labels: Set[str] = set()
        unreachable: Counter = Counter()
        for eg in get_examples():
            entity_labels.update(span.label_ for span in self._entities(eg.reference))
            pairs = self.candidate_pairs([self._gold_entities(eg)])[0]
            n_pairs += len(pairs)
            gold = self._gold_relations(eg)
            for head, tail in pairs:
                counts.update(gold.get(_pair_key(head, tail), ()))
            candidates = {_pair_key(head, tail) for head, tail in pairs}
            for key, rel_labels in gold.items():
                if key not in candidates:
                    reason = "same span" if key[:2] == key[2:] else "too far apart"
                    unreachable[reason] += len(rel_labels)
            unreachable["an argument not among the entities"] += self._count_off_entities(eg)
            if labels is None:
                for rel in get_relations(eg.reference):
                    self.add_label(rel.label)
            if len(sample_docs) < 10 and pairs:
                sample_docs.append(eg.predicted)
                sample_pairs.append(pairs)
        self._require_labels()
        unreachable = +unreachable
        if unreachable:
            source = (
                f"doc.spans[{self.cfg['spans_key']!r}]" if self.cfg["spans_key"] else "doc.ents"
            )
            warnings.warn(
                f"[{self.name}] {sum(unreachable.values())} gold relations in the training "
                f"data are between no candidate pair and can't be predicted ({dict(unreachable)}"
                "; head and tail must be different spans at most max_distance tokens apart, "
                f"both among the entities read from {source}"
                + (
                    "; relations between nested or overlapping spans need spans_key set to "
                    "the doc.spans key holding them"
                    if "an argument not among the entities" in unreachable
                    and not self.cfg["spans_key"]
                    else ""
                )
                + ").",
                stacklevel=2,
            )
        self.cfg["entity_labels"] = sorted(entity_labels)
        pair_encoder = self.model.maybe_get_ref("pair_encoder")
        if pair_encoder is not None and pair_encoder.has_dim("n_types") is not False:
            pair_encoder.set_dim("n_types", len(entity_labels) + 1, force=True)
        marker_encoder = self.model.maybe_get_ref("marker_encoder")
        if marker_encoder is not None:
            marker_encoder.attrs["entity_labels"] = self.cfg["entity_labels"]
        X = (sample_docs, self._pairs_ragged(sample_pairs)) if sample_docs else None
        Y = self.model.ops.alloc2f(sum(len(p) for p in sample_pairs), len(self.labels))
        self.model.initialize(X=X, Y=Y)
        share = numpy.array(
            [(counts[label] + 1) / (n_pairs + 2) for label in self.labels], dtype="f"
        )
        self.set_output_bias(numpy.log(share / (1 - share)))

    def _pairs_ragged(self, pairs: List[List[Tuple[Span, Span]]]) -> Ragged:
        """``(h_start, h_end, t_start, t_end, h_type, t_type)`` rows per doc; a type is the
        entity label's index in ``cfg["entity_labels"]`` + 1, or 0 if it is not there."""
        type_ids = {label: i for i, label in enumerate(self.cfg["entity_labels"], start=1)}
        rows = [
            (*_pair_key(head, tail), type_ids.get(head.label_, 0), type_ids.get(tail.label_, 0))
            for doc_pairs in pairs
            for head, tail in doc_pairs
        ]
        ops = self.model.ops
        data = ops.asarray2i(cast(Ints2d, numpy.array(rows, dtype="i").reshape((-1, 6))))
        return Ragged(data, ops.asarray1i([len(p) for p in pairs]))

    def _entities(self, doc: Doc) -> List[Span]:
        key = self.cfg["spans_key"]
        return list(doc.spans[key]) if key and key in doc.spans else list(doc.ents)

    def _gold_entities(self, eg: Example) -> List[Span]:
        return list(eg.get_aligned_spans_y2x(self._entities(eg.reference), allow_overlap=True))

    def _count_off_entities(self, eg: Example) -> int:
        """Gold relations whose head or tail is not one of the entities the component reads
        (``doc.ents`` or ``doc.spans[spans_key]``): left out of training."""
        entities = {(span.start, span.end) for span in self._entities(eg.reference)}
        return sum(
            (rel.head.start, rel.head.end) not in entities
            or (rel.tail.start, rel.tail.end) not in entities
            for rel in get_relations(eg.reference)
        )

    def _gold_relations(self, eg: Example) -> Dict[PairKey, Set[str]]:
        """Gold relations keyed by the head and tail offsets on the predicted doc's tokens."""
        aligned = {}
        for span in self._entities(eg.reference):
            mapped = eg.get_aligned_spans_y2x([span], allow_overlap=True)
            if mapped:
                aligned[(span.start, span.end)] = mapped[0]
        gold: Dict[PairKey, Set[str]] = {}
        for rel in get_relations(eg.reference):
            head = aligned.get((rel.head.start, rel.head.end))
            tail = aligned.get((rel.tail.start, rel.tail.end))
            if head is not None and tail is not None:
                gold.setdefault(_pair_key(head, tail), set()).add(rel.label)
        return gold


def pair_indices(
    bounds: numpy.ndarray, sizes: numpy.ndarray, max_distance: int
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Ordered pairs of distinct spans of one doc at most ``max_distance`` tokens apart.

    bounds: (n, 2) (start, end) of a batch's entities, doc after doc; sizes: (n_docs,)
    entities per doc. Returns (heads, tails), indices into ``bounds``, doc by doc, head-major.
    """
    n_pairs = sizes * sizes
    doc = numpy.repeat(numpy.arange(len(sizes)), n_pairs)
    first = (numpy.cumsum(sizes) - sizes)[doc]
    local = numpy.arange(int(n_pairs.sum())) - numpy.repeat(
        numpy.cumsum(n_pairs) - n_pairs, n_pairs
    )
    heads = first + local // sizes[doc]
    tails = first + local % sizes[doc]
    (h_start, h_end), (t_start, t_end) = bounds[heads].T, bounds[tails].T
    gap = numpy.maximum(numpy.maximum(t_start - h_end, h_start - t_end), 0)
    keep = ((h_start != t_start) | (h_end != t_end)) & (gap <= max_distance)
    return heads[keep], tails[keep]


def row_keys(pairs: List[List[Tuple[Span, Span]]]) -> List[RowKey]:
    """(doc index, head start, head end, tail start, tail end) of each candidate row."""
    return [
        (i, head.start, head.end, tail.start, tail.end)
        for i, doc_pairs in enumerate(pairs)
        for head, tail in doc_pairs
    ]


def _group_target(target: numpy.ndarray, rows: List[int]) -> Tuple[int, int]:
    """The gold (row, label column) of a decision group, or (-1, -1) for no relation; with
    several gold labels (multi-label data) the first row's first label."""
    for row in rows:
        cols = numpy.flatnonzero(target[row])
        if len(cols):
            return row, int(cols[0])
    return -1, -1


def _pair_key(head: Span, tail: Span) -> PairKey:
    return (head.start, head.end, tail.start, tail.end)
