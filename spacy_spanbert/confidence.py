"""Scores users can act on: temperature calibration, per-label thresholds, and the expected
calibration error of what a component emits (pure functions over NumPy arrays).

A component's outputs are "potential outputs" (a candidate span with its best label, or a
candidate pair with a label), each with a score, its label and whether it is right (exact
boundaries, types and label). Thresholds decide which are emitted.
"""

import math
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence

import numpy

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0


def scaled_softmax(probs: numpy.ndarray, temperature: float) -> numpy.ndarray:
    """Softmax probabilities with their logits divided by ``temperature``."""
    if temperature == 1.0:
        return probs
    logits = numpy.log(numpy.clip(probs, 1e-30, None)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    exp = numpy.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def scaled_sigmoid(probs: numpy.ndarray, temperature: float) -> numpy.ndarray:
    """Sigmoid probabilities with their logits divided by ``temperature``."""
    if temperature == 1.0:
        return probs
    clipped = numpy.clip(probs, 1e-7, 1 - 1e-7)
    logits = (numpy.log(clipped) - numpy.log1p(-clipped)) / temperature
    return numpy.exp(-numpy.logaddexp(0.0, -logits))


def fit_temperature(nll: Callable[[float], float], iterations: int = 60) -> float:
    """The temperature that minimises ``nll`` (the dev set's negative log-likelihood at a
    temperature), by golden-section search over log T in [0.05, 20]."""
    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(math.exp(a)), nll(math.exp(b))
    for _ in range(iterations):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(math.exp(b))
    return math.exp((low + high) / 2)


def expected_calibration_error(
    scores: numpy.ndarray, correct: numpy.ndarray, n_bins: int = 10
) -> float:
    """Expected calibration error of emitted outputs: over equal-width score bins, the
    share-weighted gap between the mean score and the share right. 0.0 for nothing emitted."""
    if len(scores) == 0:
        return 0.0
    bins = numpy.minimum((scores * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            error += in_bin.mean() * abs(scores[in_bin].mean() - correct[in_bin].mean())
    return float(error)


@dataclass
class LabelChoice:
    """A label's threshold, its dev precision, recall and F1 there, its gold dev count, and
    why the threshold was kept, if it was."""

    threshold: float
    precision: float
    recall: float
    f1: float
    support: int
    reason: str = ""


def prf_at(scores: numpy.ndarray, correct: numpy.ndarray, n_gold: int, threshold: float):
    kept = scores >= threshold
    tp = int(correct[kept].sum())
    precision = tp / kept.sum() if kept.any() else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def tune_threshold(
    scores: numpy.ndarray,
    correct: numpy.ndarray,
    n_gold: int,
    *,
    default: float,
    target_precision: Optional[float] = None,
    min_support: int = 10,
) -> LabelChoice:
    """One label's threshold on dev: the one with the best F1, or with ``target_precision``
    the lowest that reaches that precision (the most recall). A label with fewer than
    ``min_support`` gold dev examples, or whose target is never reached, keeps ``default``."""
    precision, recall, f1 = prf_at(scores, correct, n_gold, default)
    if n_gold < min_support:
        reason = f"fewer than {min_support} gold examples on dev: kept"
        return LabelChoice(default, precision, recall, f1, n_gold, reason)
    best: Optional[LabelChoice] = None
    for threshold in sorted(set(scores.tolist())):
        p, r, f = prf_at(scores, correct, n_gold, threshold)
        if target_precision is not None:
            if p >= target_precision and (best is None or r > best.recall):
                best = LabelChoice(threshold, p, r, f, n_gold)
        elif best is None or f > best.f1:
            best = LabelChoice(threshold, p, r, f, n_gold)
    if best is None:
        reason = "target precision not reached on dev: kept"
        return LabelChoice(default, precision, recall, f1, n_gold, reason)
    return best


def reliability_diagram(
    curves: Dict[str, tuple], path: str, n_bins: int = 10, title: str = ""
) -> None:
    """Save a reliability diagram (PNG): per curve name, ``(scores, correct)`` of the emitted
    outputs, binned; the diagonal is perfect calibration. Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "The reliability diagram needs matplotlib: pip install matplotlib"
        ) from err
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, (scores, correct) in curves.items():
        bins = numpy.minimum((scores * n_bins).astype(int), n_bins - 1)
        xs, ys = [], []
        for b in range(n_bins):
            in_bin = bins == b
            if in_bin.any():
                xs.append(scores[in_bin].mean())
                ys.append(correct[in_bin].mean())
        ece = expected_calibration_error(scores, correct, n_bins)
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set_xlabel("score")
    ax.set_ylabel("share right (exact match)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def label_thresholds(
    labels: Sequence[str], thresholds: Dict[str, float], default: float
) -> numpy.ndarray:
    """Each label's threshold: its entry in ``thresholds``, else ``default``."""
    return numpy.array([float(thresholds.get(label, default)) for label in labels], dtype="f")
