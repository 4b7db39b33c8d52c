"""Tuning a trained pipeline's confidence on a dev set: for each ``spanbert_ner`` and
``spanbert_rel``, first a temperature that calibrates its scores (the one under which the
scores of what it could emit best predict, in log loss, whether each is right), then a
threshold per label on the calibrated scores. The
results are written into the pipeline's config, the one source of these settings."""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from .confidence import (
    LabelChoice,
    expected_calibration_error,
    fit_temperature,
    prf_at,
    scaled_sigmoid,
    scaled_softmax,
    tune_threshold,
)
from .evaluate import evaluation_examples
from .pair_decisions import decision_groups, group_probs, logits_from_probs
from .pipeline.head import LabelledHead
from .pipeline.relation import RelationExtractor, row_keys
from .pipeline.span_ner import SpanNER
from .relations import get_relations

BATCH_SIZE = 64
# the least score of a potential output that calibration fits: below it, outputs are never
# emitted at any sensible threshold, and their (easy) "no" would swamp the fit
CALIBRATION_FLOOR = 0.1


@dataclass
class Outputs:
    """A component's potential outputs on dev at one temperature: label column, score, and
    whether each is right; and the gold count per label column."""

    labels: numpy.ndarray
    scores: numpy.ndarray
    correct: numpy.ndarray
    n_gold: numpy.ndarray

    def emitted(self, thresholds: numpy.ndarray) -> numpy.ndarray:
        return self.scores >= thresholds[self.labels]


@dataclass
class ComponentReport:
    """What tuning found for one component."""

    name: str
    temperature: float
    ece_before: float
    ece_after: float
    labels: Dict[str, Tuple[LabelChoice, LabelChoice]] = field(default_factory=dict)
    curves: Dict[str, Tuple[numpy.ndarray, numpy.ndarray]] = field(default_factory=dict)


class SpanScores:
    """``spanbert_ner``'s raw candidate probabilities on dev and each candidate's gold class."""

    def __init__(self, pipe: SpanNER, examples: List[Example]) -> None:
        self.n_labels = len(pipe.labels)
        probs, gold = [], []
        self.n_gold = numpy.zeros(self.n_labels, dtype="i")
        label_index = {label: i for i, label in enumerate(pipe.labels)}
        for start in range(0, len(examples), BATCH_SIZE):
            batch = examples[start : start + BATCH_SIZE]
            candidates, scores = pipe.predict([eg.predicted for eg in batch])
            bounds = pipe.model.ops.to_numpy(candidates.dataXd).reshape((-1, 2))
            lengths = pipe.model.ops.to_numpy(candidates.lengths)
            probs.append(pipe.model.ops.to_numpy(scores))
            offset = 0
            for eg, n in zip(batch, lengths):
                spans = {(s.start, s.end): s.label_ for s in pipe._gold_spans(eg)}
                for label in spans.values():
                    if label in label_index:
                        self.n_gold[label_index[label]] += 1
                for s, e in bounds[offset : offset + n]:
                    found = spans.get((int(s), int(e)), "")
                    gold.append(label_index[found] + 1 if found in label_index else 0)
                offset += n
        self.probs = numpy.concatenate(probs) if probs else numpy.zeros((0, self.n_labels + 1))
        self.gold = numpy.array(gold, dtype="i")

    def outputs(self, temperature: float) -> Outputs:
        scaled = scaled_softmax(self.probs, temperature)[:, 1:]
        best = scaled.argmax(axis=1)
        scores = scaled[numpy.arange(len(best)), best]
        return Outputs(best, scores, self.gold == best + 1, self.n_gold)


class RelationScores:
    """``spanbert_rel``'s raw pair probabilities on dev and the gold relations."""

    def __init__(self, pipe: RelationExtractor, examples: List[Example]) -> None:
        self.decision = pipe.cfg["decision"]
        label_index = {label: i for i, label in enumerate(pipe.labels)}
        self.n_gold = numpy.zeros(len(pipe.labels), dtype="i")
        probs: List[numpy.ndarray] = []
        entities: List[numpy.ndarray] = []
        targets: List[numpy.ndarray] = []
        keys: List[tuple] = []
        for start in range(0, len(examples), BATCH_SIZE):
            batch = examples[start : start + BATCH_SIZE]
            pairs, scores = pipe.predict([eg.predicted for eg in batch])
            probs.append(pipe.model.ops.to_numpy(scores))
            entities.append(pipe.entity_confidence([eg.predicted for eg in batch], pairs))
            target = numpy.zeros(probs[-1].shape, dtype="f")
            row = 0
            for eg, doc_pairs in zip(batch, pairs):
                gold = _strict_gold(eg)
                for label in gold.values():
                    for name in label:
                        if name in label_index:
                            self.n_gold[label_index[name]] += 1
                for head, tail in doc_pairs:
                    key = (head.start, head.end, head.label_, tail.start, tail.end, tail.label_)
                    for name in gold.get(key, ()):
                        if name in label_index:
                            target[row, label_index[name]] = 1.0
                    row += 1
            targets.append(target)
            keys.extend((start + key[0], *key[1:]) for key in row_keys(pairs))
        width = len(pipe.labels)
        self.probs = numpy.concatenate(probs) if probs else numpy.zeros((0, width))
        self.target = numpy.concatenate(targets) if targets else numpy.zeros((0, width))
        # each pair's entities' scores (1.0 unless spanbert_rel has an entity_scores_key)
        self.entities = numpy.concatenate(entities) if entities else numpy.zeros((0,))
        self.groups = decision_groups(keys, self.decision) if self.decision != "multilabel" else []
        self.group_targets = [_target(self.target, rows) for rows in self.groups]

    def outputs(self, temperature: float) -> Outputs:
        if self.decision == "multilabel":
            scaled = scaled_sigmoid(self.probs, temperature) * self.entities[:, None]
            rows, cols = numpy.indices(scaled.shape)
            return Outputs(cols.ravel(), scaled.ravel(), self.target.ravel() > 0, self.n_gold)
        logits = logits_from_probs(self.probs) / temperature
        labels, scores, correct = [], [], []
        for group, gold in zip(self.groups, self.group_targets):
            probs = group_probs(logits, group) * self.entities[group][:, None]
            row, col = divmod(int(probs.argmax()), probs.shape[1])
            labels.append(col)
            scores.append(probs[row, col])
            correct.append((group[row], col) == gold)
        return Outputs(
            numpy.array(labels, dtype="i"), numpy.array(scores), numpy.array(correct), self.n_gold
        )


def calibrated_temperature(outputs: Callable[[float], Outputs], current: float) -> float:
    """The temperature under which the potential outputs' scores best predict whether they
    are right: it minimises the log loss of (score, right) over the potential outputs that
    score at least ``CALIBRATION_FLOOR`` at the ``current`` temperature, the ones thresholds
    choose among. ``current`` when there are none."""
    rows = outputs(current).scores >= CALIBRATION_FLOOR
    if not rows.any():
        return current

    def log_loss(temperature: float) -> float:
        scored = outputs(temperature)
        scores = numpy.clip(scored.scores[rows], 1e-7, 1 - 1e-7)
        right = scored.correct[rows]
        return float(-numpy.where(right, numpy.log(scores), numpy.log1p(-scores)).mean())

    return fit_temperature(log_loss)


def tune(
    nlp: Language,
    gold_docs: List[Doc],
    *,
    target_precision: Optional[float] = None,
    min_support: int = 10,
    given_entities: bool = False,
    calibrate: bool = True,
) -> List[ComponentReport]:
    """Calibrate and set per-label thresholds of every ``spanbert_ner`` and ``spanbert_rel``
    in ``nlp`` on ``gold_docs`` (a dev set); the settings are written into the components and
    the pipeline's config (save ``nlp`` to keep them)."""
    reports = []
    for index, name in enumerate(nlp.pipe_names):
        pipe = nlp.get_pipe(name)
        if not isinstance(pipe, (SpanNER, RelationExtractor)):
            continue
        examples = _examples_before(nlp, index, gold_docs, given_entities)
        data = (
            SpanScores(pipe, examples)
            if isinstance(pipe, SpanNER)
            else RelationScores(pipe, examples)
        )
        temperature = float(pipe.cfg["temperature"])
        if calibrate:
            temperature = calibrated_temperature(data.outputs, temperature)
        before = data.outputs(float(pipe.cfg["temperature"]))
        after = data.outputs(temperature)
        old = pipe.label_thresholds()
        new = old.copy()
        report = ComponentReport(name, temperature, 0.0, 0.0)
        for col, label in enumerate(pipe.labels):
            mine_before = before.labels == col
            mine = after.labels == col
            choice = tune_threshold(
                after.scores[mine],
                after.correct[mine],
                int(after.n_gold[col]),
                default=float(pipe.cfg["threshold"]),
                target_precision=target_precision,
                min_support=min_support,
            )
            p, r, f = prf_at(
                before.scores[mine_before],
                before.correct[mine_before],
                int(before.n_gold[col]),
                float(old[col]),
            )
            report.labels[label] = (
                LabelChoice(float(old[col]), p, r, f, int(before.n_gold[col])),
                choice,
            )
            new[col] = choice.threshold
        emitted_before, emitted_after = before.emitted(old), after.emitted(new)
        report.ece_before = expected_calibration_error(
            before.scores[emitted_before], before.correct[emitted_before]
        )
        report.ece_after = expected_calibration_error(
            after.scores[emitted_after], after.correct[emitted_after]
        )
        report.curves = {
            "before": (before.scores[emitted_before], before.correct[emitted_before]),
            "after": (after.scores[emitted_after], after.correct[emitted_after]),
        }
        _apply(nlp, pipe, temperature, {label: float(t) for label, t in zip(pipe.labels, new)})
        reports.append(report)
    return reports


def _apply(
    nlp: Language, pipe: LabelledHead, temperature: float, thresholds: Dict[str, float]
) -> None:
    """Set the settings on the component and in the pipeline's config."""
    settings = {"temperature": temperature, "thresholds": thresholds}
    pipe.cfg.update(settings)
    nlp.get_pipe_config(pipe.name).update(settings)


def _examples_before(
    nlp: Language, index: int, gold_docs: List[Doc], given_entities: bool
) -> List[Example]:
    """Examples whose predicted docs went through the components before ``index`` (with
    ``given_entities``, only the transformers: the entities are the gold ones)."""
    examples = evaluation_examples(nlp, gold_docs, given_entities=given_entities)
    earlier = nlp.pipe_names[:index]
    if given_entities:
        earlier = [n for n in earlier if nlp.get_pipe_meta(n).factory == "transformer"]
    disabled = [n for n in nlp.pipe_names if n not in earlier]
    docs = nlp.pipe((eg.predicted for eg in examples), disable=disabled, batch_size=BATCH_SIZE)
    for eg, doc in zip(examples, docs):
        eg.predicted = doc
    return examples


def _strict_gold(eg: Example) -> Dict[tuple, List[str]]:
    """Gold relations by (head start, end, type, tail start, end, type) on predicted tokens."""

    gold: Dict[tuple, List[str]] = {}
    for rel in get_relations(eg.reference):
        head, tail = (
            eg.get_aligned_spans_y2x([rel.head], allow_overlap=True),
            eg.get_aligned_spans_y2x([rel.tail], allow_overlap=True),
        )
        if head and tail:
            key = (
                head[0].start,
                head[0].end,
                rel.head.label_,
                tail[0].start,
                tail[0].end,
                rel.tail.label_,
            )
            gold.setdefault(key, []).append(rel.label)
    return gold


def _target(target: numpy.ndarray, rows: List[int]) -> Tuple[int, int]:
    for row in rows:
        cols = numpy.flatnonzero(target[row])
        if len(cols):
            return row, int(cols[0])
    return -1, -1
