"""Single-label relation decisions: one softmax per candidate pair over "no relation" and the
labels, from the relation model's per-label logits (pure functions over NumPy arrays).

- ``directed``: one decision per ordered pair (head -> tail), as in TACRED (subject -> object).
- ``pair``: one decision per unordered pair over both directions, as in SemEval-2010 Task 8:
  ``Cause-Effect`` from e1 to e2 competes with ``Cause-Effect`` from e2 to e1 and with "no
  relation".

"No relation" has the fixed logit 0; each label's logit is the model's output for it.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy

DECISIONS = ("multilabel", "directed", "pair")
# (doc index, head start, head end, tail start, tail end) of one candidate row
RowKey = Tuple[int, int, int, int, int]


def decision_groups(keys: Sequence[RowKey], decision: str) -> List[List[int]]:
    """The rows decided together: each row alone (``directed``), or the two directions of an
    unordered pair (``pair``; a row whose reverse is no candidate is alone)."""
    if decision == "directed":
        return [[row] for row in range(len(keys))]
    groups: List[List[int]] = []
    index: Dict[Tuple[int, frozenset], int] = {}
    for row, (doc, h_start, h_end, t_start, t_end) in enumerate(keys):
        key = (doc, frozenset({(h_start, h_end), (t_start, t_end)}))
        if key in index:
            groups[index[key]].append(row)
        else:
            index[key] = len(groups)
            groups.append([row])
    return groups


def logits_from_probs(probs: numpy.ndarray) -> numpy.ndarray:
    """The logits behind sigmoid outputs."""
    clipped = numpy.clip(probs, 1e-7, 1 - 1e-7)
    return numpy.log(clipped) - numpy.log1p(-clipped)


def group_probs(logits: numpy.ndarray, rows: List[int]) -> numpy.ndarray:
    """Softmax over ["no relation"] + every (row, label) of the group; the (rows, labels)
    probabilities of the labels (no relation is 1 minus their sum)."""
    cells = logits[rows].ravel()
    top = max(float(cells.max()), 0.0)
    exp = numpy.exp(cells - top)
    return (exp / (numpy.exp(-top) + exp.sum())).reshape((len(rows), logits.shape[1]))


def softmax_decisions(
    logits: numpy.ndarray,
    groups: List[List[int]],
    threshold: Union[float, numpy.ndarray],
    scale: Optional[numpy.ndarray] = None,
) -> List[Tuple[int, int, float]]:
    """Per group at most one (row, label column, probability): its best label, kept when its
    probability reaches ``threshold`` (one for all labels, or one per label column).
    scale: (n_rows,) factors each row's probabilities are multiplied by (its entities' scores)."""
    limits = numpy.broadcast_to(numpy.asarray(threshold, dtype="f"), (logits.shape[1],))
    kept = []
    for rows in groups:
        probs = group_probs(logits, rows)
        if scale is not None:
            probs = probs * scale[rows][:, None]
        cell = int(probs.argmax())
        row, col = divmod(cell, probs.shape[1])
        if probs[row, col] >= limits[col]:
            kept.append((rows[row], col, float(probs[row, col])))
    return kept


def softmax_loss(
    logits: numpy.ndarray, groups: List[List[int]], targets: List[Tuple[int, int]]
) -> Tuple[float, numpy.ndarray]:
    """Mean cross-entropy over the groups and its gradient w.r.t. the logits. ``targets``:
    per group the gold (row, label column), or (-1, -1) for no relation."""
    d_logits = numpy.zeros_like(logits)
    loss = 0.0
    for rows, (row, col) in zip(groups, targets):
        probs = group_probs(logits, rows)
        if row < 0:
            loss -= float(numpy.log(max(1.0 - probs.sum(), 1e-8)))
        else:
            loss -= float(numpy.log(max(probs[rows.index(row), col], 1e-8)))
            probs[rows.index(row), col] -= 1.0
        d_logits[rows] += probs
    n = max(len(groups), 1)
    return loss / n, d_logits / n
