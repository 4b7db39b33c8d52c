"""Continued SpanBERT pretraining (span masking + SBO) on raw text, with transformers' Trainer.

The same code runs on one CPU, one GPU, or many GPUs/nodes under ``torchrun`` or
``accelerate launch`` (Trainer handles the distribution), with bf16/fp16, gradient
accumulation, checkpoints and resume. The output directory is a Hugging Face checkpoint
(weights incl. the MLM head, config, tokenizer) plus ``sbo_head.bin``; the ``transformer``
component loads it like any other encoder.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from torch.utils.data import Dataset
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from ..encoders import load_encoder, resolve_checkpoint
from .masking import Example, SpanMaskingCollator, TokenMaskingCollator
from .sbo import SpanBertForPreTraining, mlm_head_present

# span: span masking + SBO (SpanBERT); mlm: whole-word masking with the same budget, share
# and 80/10/10 split (the span masking collator with one-word spans), no SBO; token: the
# original BERT's masking of single wordpieces, each with its own 80/10/10 draw, no SBO
OBJECTIVES = ("span", "mlm", "token")


@dataclass
class PretrainingSettings:
    """Training settings; they mirror the ``pretrain`` command's options."""

    max_steps: int = 1000
    batch_size: int = 8
    max_length: int = 512
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.01
    weight_decay: float = 0.01
    gradient_accumulation_steps: int = 1
    sbo_weight: float = 1.0
    objective: str = "span"
    head_warmup_steps: int = 0
    bf16: bool = False
    fp16: bool = False
    save_steps: int = 500
    logging_steps: int = 10
    seed: int = 0


class TokenBlocks(Dataset):
    """Contiguous text cut into ``[CLS] block [SEP]`` segments of whole words."""

    def __init__(
        self, texts: Iterable[str], tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> None:
        self.blocks: List[Example] = []
        capacity = max_length - 2
        ids: List[int] = []
        word_ids: List[Optional[int]] = []
        n_words = 0
        for text in texts:
            words = text.split()
            if not words:
                continue
            encoding = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
            pieces: Dict[int, List[int]] = {}
            for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
                pieces.setdefault(word, []).append(token_id)
            for word in sorted(pieces):
                word_pieces = pieces[word][:capacity]
                if len(ids) + len(word_pieces) > capacity:
                    self._add(tokenizer, ids, word_ids)
                    ids, word_ids = [], []
                ids.extend(word_pieces)
                word_ids.extend([n_words] * len(word_pieces))
                n_words += 1
        if ids:
            self._add(tokenizer, ids, word_ids)

    def _add(
        self, tokenizer: PreTrainedTokenizerBase, ids: List[int], word_ids: List[Optional[int]]
    ) -> None:
        self.blocks.append(
            {
                "input_ids": [tokenizer.cls_token_id, *ids, tokenizer.sep_token_id],
                "word_ids": [None, *word_ids, None],
            }
        )

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> Example:
        return self.blocks[i]

    @property
    def n_tokens(self) -> int:
        return sum(len(block["input_ids"]) for block in self.blocks)


class HeadWarmup(TrainerCallback):
    """For the first ``steps`` optimizer steps only the output heads train: the encoder's
    weights (and the word embeddings tied to the MLM output) get no gradient, so fresh heads
    learn to read the encoder before their early, random gradients reach it; those steps
    skip the encoder's backward pass too."""

    def __init__(self, model: SpanBertForPreTraining, steps: int) -> None:
        self.encoder = model.masked_lm.base_model
        self.steps = steps

    def _freeze(self, frozen: bool) -> None:
        for param in self.encoder.parameters():
            param.requires_grad_(not frozen)

    def on_train_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self._freeze(state.global_step < self.steps)

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if state.global_step == self.steps:
            self._freeze(False)


class PretrainingTrainer(Trainer):
    """Trainer that logs the MLM and SBO losses and accuracies apart, each the mean over the
    steps since the last log, beside the combined loss."""

    PARTS = ("mlm_loss", "sbo_loss", "mlm_accuracy", "sbo_accuracy")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parts: Dict[str, List[float]] = {name: [] for name in self.PARTS}

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):  # type: ignore[no-untyped-def]
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, **kwargs)
        for name in self.PARTS:
            if name in outputs:
                self._parts[name].append(float(outputs[name]))
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: Dict[str, float], *args: Any, **kwargs: Any) -> None:
        if "loss" in logs:
            for name, values in self._parts.items():
                if values:
                    logs[name] = round(sum(values) / len(values), 4)
                    values.clear()
        super().log(logs, *args, **kwargs)  # type: ignore[misc]


def words_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """The tokenizer, able to take text already split into words: byte-level BPE tokenizers
    (RoBERTa) need ``add_prefix_space`` for that. The same vocabulary either way."""
    if getattr(tokenizer, "add_prefix_space", None) is False:
        return AutoTokenizer.from_pretrained(tokenizer.name_or_path, add_prefix_space=True)
    return tokenizer


def pretrain(
    base: Union[str, Path],
    texts: Iterable[str],
    output: Union[str, Path],
    *,
    tokenizer_path: Optional[Union[str, Path]] = None,
    settings: Optional[PretrainingSettings] = None,
    resume: bool = False,
    collator_options: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Continue pretraining ``base`` (a directory or hub id) on ``texts``; write a checkpoint
    to ``output``.

    Returns a summary: final losses, tokens per second, whether the MLM and SBO heads were
    loaded from ``base`` or initialized.
    """
    settings = settings or PretrainingSettings()
    if settings.objective not in OBJECTIVES:
        raise ValueError(
            f"objective '{settings.objective}': expected one of {', '.join(OBJECTIVES)}"
        )
    output = Path(output)
    hf = load_encoder(base, tokenizer=tokenizer_path, model_cls=AutoModelForMaskedLM)
    base_dir = resolve_checkpoint(base, "base checkpoint", "BASE")
    with_sbo = settings.objective == "span"
    model = SpanBertForPreTraining(hf.transformer, sbo_weight=settings.sbo_weight * with_sbo)
    sbo_loaded = model.load_sbo_head(base_dir)
    tokenizer = words_tokenizer(hf.tokenizer)
    blocks = TokenBlocks(texts, tokenizer, settings.max_length)
    if not len(blocks):
        raise ValueError("No text to pretrain on: every document was empty.")
    options = {
        **({"max_span_words": 1} if settings.objective == "mlm" else {}),
        **(collator_options or {}),
    }
    collator_cls = TokenMaskingCollator if settings.objective == "token" else SpanMaskingCollator
    collator = collator_cls(tokenizer, seed=settings.seed, **options)
    args = TrainingArguments(
        output_dir=str(output / "checkpoints"),
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_ratio=settings.warmup_ratio,
        weight_decay=settings.weight_decay,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        bf16=settings.bf16,
        fp16=settings.fp16,
        save_steps=settings.save_steps,
        save_total_limit=2,
        save_safetensors=False,
        logging_steps=settings.logging_steps,
        report_to=[],
        seed=settings.seed,
        remove_unused_columns=False,
    )
    callbacks = (
        [HeadWarmup(model, settings.head_warmup_steps)] if settings.head_warmup_steps else []
    )
    trainer = PretrainingTrainer(
        model=model,
        args=args,
        train_dataset=blocks,
        data_collator=collator,
        callbacks=callbacks,
    )
    checkpoints = output / "checkpoints"
    resumed = get_last_checkpoint(str(checkpoints)) if resume and checkpoints.is_dir() else None
    start_step = int(resumed.rsplit("-", 1)[1]) if resumed else 0
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=True if resume else None)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    model.save_pretrained(output)
    hf.tokenizer.save_pretrained(str(output))
    history: Sequence[Dict[str, Any]] = trainer.state.log_history  # type: ignore[attr-defined]
    with (output / "loss_log.jsonl").open("w", encoding="utf8") as file_:
        for entry in history:
            file_.write(json.dumps(entry) + "\n")
    steps_trained = result.global_step - start_step
    n_seen = steps_trained * settings.batch_size * settings.gradient_accumulation_steps
    tokens_per_block = blocks.n_tokens / len(blocks)
    losses = [entry["loss"] for entry in history if "loss" in entry]
    return {
        # the Trainer divides a resumed call's summed loss by every step, also earlier ones
        "train_loss": result.training_loss * result.global_step / max(steps_trained, 1),
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "tokens_per_second": n_seen * tokens_per_block / elapsed,  # this call's steps only
        "blocks": len(blocks),
        "mlm_head_loaded": mlm_head_present(base_dir),
        "sbo_head_loaded": sbo_loaded,
    }
