"""Paired bootstrap over test documents: how far apart two systems' scores really are.

Both systems are scored on the same resamples of the test documents (drawn with
replacement), so the spread of the difference reflects which documents happen to be in
the test set, not two independent samples. One seed, one test set: an interval that
contains 0 means the data cannot tell the systems apart.
"""

from typing import Callable, Dict, Iterable, Sequence

import numpy
from spacy.tokens import Doc
from spacy.training import Example

Metric = Callable[[numpy.ndarray], numpy.ndarray]


def accuracy(correct: numpy.ndarray) -> numpy.ndarray:
    """Share of documents right; ``correct`` is (..., docs) of 0/1."""
    return correct.mean(axis=-1)


def micro_f1(counts: numpy.ndarray) -> numpy.ndarray:
    """Micro F1 from per-document (true positives, false positives, false negatives),
    ``counts`` shaped (..., docs, 3)."""
    tp, fp, fn = numpy.moveaxis(counts.sum(axis=-2), -1, 0)
    return 2 * tp / numpy.maximum(2 * tp + fp + fn, 1)


def span_counts(examples: Iterable[Example], key: str) -> numpy.ndarray:
    """Per document: true positives, false positives and false negatives of the exact
    labelled spans in ``doc.spans[key]`` (rows for ``micro_f1``)."""
    rows = []
    for eg in examples:
        pred = {(s.start, s.end, s.label_) for s in eg.predicted.spans.get(key, [])}
        gold = {(s.start, s.end, s.label_) for s in eg.reference.spans.get(key, [])}
        rows.append((len(pred & gold), len(pred - gold), len(gold - pred)))
    return numpy.array(rows).reshape((-1, 3))


def entity_counts(examples: Iterable[Example]) -> numpy.ndarray:
    """Per document: true positives, false positives and false negatives of the exact
    labelled entities in ``doc.ents``."""
    rows = []
    for eg in examples:
        pred = {(e.start, e.end, e.label_) for e in eg.predicted.ents}
        gold = {(e.start, e.end, e.label_) for e in eg.reference.ents}
        rows.append((len(pred & gold), len(pred - gold), len(gold - pred)))
    return numpy.array(rows).reshape((-1, 3))


def relation_counts(examples: Iterable[Example]) -> numpy.ndarray:
    """Per document: true positives, false positives and false negatives of relations,
    scored strictly (head and tail boundaries and types, and the relation label)."""
    from spacy_spanbert.relations import get_relations

    def keys(doc: Doc) -> set:
        return {
            (
                r.head.start_char,
                r.head.end_char,
                r.head.label_,
                r.label,
                r.tail.start_char,
                r.tail.end_char,
                r.tail.label_,
            )
            for r in get_relations(doc)
        }

    rows = []
    for eg in examples:
        pred, gold = keys(eg.predicted), keys(eg.reference)
        rows.append((len(pred & gold), len(pred - gold), len(gold - pred)))
    return numpy.array(rows).reshape((-1, 3))


def pooled_over_seeds(metric: Metric, per_seed: Sequence[numpy.ndarray]) -> numpy.ndarray:
    """Several training seeds' per-document records as one set, which ``metric`` scores as
    all the seeds' predictions together: slot counts summed (``micro_f1``), correctness
    averaged (``accuracy``: the mean of the seeds' accuracies)."""
    stacked = numpy.stack(per_seed)
    if metric is micro_f1:
        return stacked.sum(axis=0)
    if metric is accuracy:
        return stacked.mean(axis=0)
    raise ValueError(f"no pooling defined for {metric.__name__}")


def paired_bootstrap(
    metric: Metric, a: numpy.ndarray, b: numpy.ndarray, *, resamples: int = 1000, seed: int = 0
) -> Dict[str, float]:
    """``metric(a) - metric(b)`` on the documents as they are, and the 2.5th and 97.5th
    percentiles of that difference over ``resamples`` paired resamples of the documents."""
    if len(a) != len(b):
        raise ValueError(f"paired systems need the same documents ({len(a)} vs {len(b)})")
    rows = numpy.random.default_rng(seed).integers(0, len(a), size=(resamples, len(a)))
    diffs = metric(a[rows]) - metric(b[rows])
    low, high = numpy.percentile(diffs, [2.5, 97.5])
    return {
        "difference": round(float(metric(a) - metric(b)), 4),
        "ci95_low": round(float(low), 4),
        "ci95_high": round(float(high), 4),
    }
