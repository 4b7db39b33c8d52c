"""SpanBERT's span masking as a data collator (the published recipe, all values configurable).

Span lengths come from a geometric distribution (p = 0.2) clipped at 10, counted in whole
words; spans start at word boundaries and are drawn until 15% of the wordpieces are masked
(overlapping or touching spans merge; a span that would overshoot the budget is
shortened word by word, as SpanBERT's code truncates its last span). Each span gets one
draw: 80% all ``[MASK]``, 10% every token a random token, 10% unchanged. Special tokens
and padding are never masked. Besides ``input_ids`` and ``labels`` (-100 where no loss is
taken), the collator returns what the span boundary objective needs: for each masked token,
the positions of the two tokens just outside its span and its position inside the span (-1
where SBO is skipped).
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
import torch
from transformers import PreTrainedTokenizerBase

Example = Dict[str, Sequence[Any]]  # {"input_ids": [...], "word_ids": [... or None]}


@dataclass
class SpanMaskingCollator:
    """Collate tokenized blocks (``input_ids`` with ``[CLS]``/``[SEP]``, and ``word_ids``:
    the word index of each token, None for special tokens) into a masked batch."""

    tokenizer: PreTrainedTokenizerBase
    mask_ratio: float = 0.15
    geometric_p: float = 0.2
    max_span_words: int = 10
    mask_prob: float = 0.8
    random_prob: float = 0.1
    max_sbo_targets: int = 15
    seed: Optional[int] = None
    generator: numpy.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.generator = numpy.random.default_rng(self.seed)
        specials = set(self.tokenizer.all_special_ids)
        self._random_ids = numpy.array(
            [i for i in range(len(self.tokenizer)) if i not in specials], dtype="int64"
        )

    def __call__(self, examples: List[Example]) -> Dict[str, torch.Tensor]:
        length = max(len(ex["input_ids"]) for ex in examples)
        shape = (len(examples), length)
        batch = {
            "input_ids": numpy.full(shape, self.tokenizer.pad_token_id, dtype="int64"),
            "attention_mask": numpy.zeros(shape, dtype="int64"),
            "labels": numpy.full(shape, -100, dtype="int64"),
            "sbo_left": numpy.full(shape, -1, dtype="int64"),
            "sbo_right": numpy.full(shape, -1, dtype="int64"),
            "sbo_position": numpy.full(shape, -1, dtype="int64"),
        }
        for row, example in enumerate(examples):
            ids = numpy.asarray(example["input_ids"], dtype="int64")
            n = len(ids)
            batch["attention_mask"][row, :n] = 1
            masked_ids, labels, spans = self.mask(ids, list(example["word_ids"]))
            batch["input_ids"][row, :n] = masked_ids
            batch["labels"][row, :n] = labels
            left, right, position = sbo_targets(spans, n, self.max_sbo_targets)
            batch["sbo_left"][row, :n] = left
            batch["sbo_right"][row, :n] = right
            batch["sbo_position"][row, :n] = position
        return {key: torch.from_numpy(value) for key, value in batch.items()}

    def mask(
        self, ids: numpy.ndarray, word_ids: List[Optional[int]]
    ) -> Tuple[numpy.ndarray, numpy.ndarray, List[Tuple[int, int]]]:
        """Mask one block; returns (input ids, labels, merged spans as (first, last) tokens)."""
        words = _word_ranges(word_ids)
        n_maskable = sum(end - start for start, end in words)
        budget = int(round(self.mask_ratio * n_maskable))
        chosen = numpy.zeros(len(ids), dtype=bool)
        attempts = 0
        while chosen.sum() < budget and words and attempts < 100 * len(words):
            attempts += 1
            n_words = min(int(self.generator.geometric(self.geometric_p)), self.max_span_words)
            first = int(self.generator.integers(len(words)))
            last = min(first + n_words, len(words)) - 1
            # an overshooting span is shortened word by word to fit the budget
            while (
                last > first
                and _n_new(chosen, words[first][0], words[last][1]) + chosen.sum() > budget
            ):
                last -= 1
            start, end = words[first][0], words[last][1]
            if chosen.sum() + _n_new(chosen, start, end) > budget:
                continue
            chosen[start:end] = True
        spans = _runs(chosen)
        masked = ids.copy()
        labels = numpy.full(len(ids), -100, dtype="int64")
        for start, last in spans:
            labels[start : last + 1] = ids[start : last + 1]
            draw = self.generator.random()
            if draw < self.mask_prob:
                masked[start : last + 1] = self.tokenizer.mask_token_id
            elif draw < self.mask_prob + self.random_prob:
                masked[start : last + 1] = self.generator.choice(self._random_ids, last + 1 - start)
        return masked, labels, spans


@dataclass
class TokenMaskingCollator(SpanMaskingCollator):
    """The original BERT's masking: ``mask_ratio`` of the wordpieces drawn one by one,
    uniformly, each with its own 80/10/10 draw (adjacent ones are not a span); no SBO
    targets."""

    def mask(
        self, ids: numpy.ndarray, word_ids: List[Optional[int]]
    ) -> Tuple[numpy.ndarray, numpy.ndarray, List[Tuple[int, int]]]:
        maskable = numpy.array([i for i, word in enumerate(word_ids) if word is not None])
        budget = int(round(self.mask_ratio * len(maskable)))
        chosen = self.generator.choice(maskable, budget, replace=False) if budget else maskable[:0]
        masked = ids.copy()
        labels = numpy.full(len(ids), -100, dtype="int64")
        labels[chosen] = ids[chosen]
        draws = self.generator.random(len(chosen))
        masked[chosen[draws < self.mask_prob]] = self.tokenizer.mask_token_id
        randomized = chosen[(draws >= self.mask_prob) & (draws < self.mask_prob + self.random_prob)]
        masked[randomized] = self.generator.choice(self._random_ids, len(randomized))
        return masked, labels, []


def sbo_targets(
    spans: List[Tuple[int, int]], length: int, max_targets: int
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Per token: left boundary (start - 1), right boundary (last + 1) and position in its
    span, for the first ``max_targets`` tokens of each span; -1 elsewhere. Spans touching
    the block edge (boundary at ``[CLS]``, position 0, or at ``[SEP]``, the last position)
    are skipped."""
    left = numpy.full(length, -1, dtype="int64")
    right = numpy.full(length, -1, dtype="int64")
    position = numpy.full(length, -1, dtype="int64")
    for start, last in spans:
        if start - 1 < 1 or last + 1 > length - 2:
            continue
        for i in range(start, min(last + 1, start + max_targets)):
            left[i], right[i], position[i] = start - 1, last + 1, i - start
    return left, right, position


def _word_ranges(word_ids: List[Optional[int]]) -> List[Tuple[int, int]]:
    """(start, end) token ranges of each word, end exclusive; special tokens excluded."""
    ranges: List[Tuple[int, int]] = []
    previous = None
    for i, word in enumerate(word_ids):
        if word is None:
            previous = None
            continue
        if word == previous:
            ranges[-1] = (ranges[-1][0], i + 1)
        else:
            ranges.append((i, i + 1))
        previous = word
    return ranges


def _n_new(chosen: numpy.ndarray, start: int, end: int) -> int:
    return int((~chosen[start:end]).sum())


def _runs(chosen: numpy.ndarray) -> List[Tuple[int, int]]:
    """Maximal runs of True as (first, last) indices."""
    runs = []
    start = None
    for i, flag in enumerate(chosen):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(chosen) - 1))
    return runs
