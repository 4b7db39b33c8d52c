"""Continued pretraining on GENIA, measured downstream: none vs whole-word MLM vs span masking.

1. Continue pretraining all-MiniLM-L6-v2 on the GENIA training split's abstracts (title and
   abstract text; no dev or test document) with ``--objective mlm`` (b) and ``--objective
   span`` (c): the same steps, batch, block length, learning rate, schedule and seed.
   all-MiniLM-L6-v2 ships without an MLM head, so both start with fresh output heads; the
   loss curves show what part of the budget goes to training them, and how far each layer's
   token vectors moved (their mean cosine to the original encoder's on 100 dev sentences).
2. Train spanbert_ner in nested mode (configs/spans.cfg) on GENIA from the original encoder
   (a) and from (b) and (c), with the same steps and seed; print test F1 per system and per
   type, dev F1, and paired-bootstrap intervals of (c)-(a) and (c)-(b) over test sentences.
3. Pretraining speed, side by side in this run: steps of span masking + SBO with the MLM and
   SBO logits computed only where a label is (what `pretrain` does) against the same steps
   with the MLM vocabulary projection at every position (the dense loss of a
   ``*ForMaskedLM`` model); tokens/s and peak memory, each in a fresh process.

    python benchmarks/pretrain_genia.py --quick   # 300 pretraining steps x 8 x 128, 150 NER steps
    python benchmarks/pretrain_genia.py           # 3,000 steps x 32 x 512, 600 NER steps (a GPU)
    python benchmarks/pretrain_genia.py --quick --systems span --head-warmup-steps 100
    python benchmarks/pretrain_genia.py --quick --systems span --learning-rate 2e-5
    python benchmarks/pretrain_genia.py --quick --reuse-pretrained  # after a run that stopped
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy
import spacy
import torch
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    minilm_path,
    prf,
    print_per_label_f1,
    train,
    training_overrides,
    use_device,
    write_results,
)
from genia_abstracts import training_abstracts
from nested_genia import MAX_WIDTH, prepare_genia
from paired_bootstrap import micro_f1, paired_bootstrap, span_counts
from thinc.api import Config
from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer
from wasabi import msg

from spacy_spanbert.pretraining import (
    PretrainingSettings,
    SpanBertForPreTraining,
    SpanMaskingCollator,
    TokenBlocks,
    pretrain,
)
from spacy_spanbert.pretraining.sbo import SBO_WEIGHTS, mlm_head_present
from spacy_spanbert.pretraining.train import words_tokenizer

SPEED_STEPS = 12  # timed steps per variant and round (after one warm-up step)
HEADS = ("sparse", "dense")
SYSTEMS = ("none", "mlm", "span")  # continued pretraining: none, --objective mlm, span
DEFAULT_LEARNING_RATE = 1e-4
DRIFT_SENTENCES = 100  # dev sentences for the encoders' drift from the original


def dense_loss(model: SpanBertForPreTraining, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
    """The same loss with the MLM vocabulary projection at every position."""
    out = model.masked_lm(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        labels=batch["labels"],
        output_hidden_states=True,
    )
    sbo_logits = model.sbo(
        out.hidden_states[-1], batch["sbo_left"], batch["sbo_right"], batch["sbo_position"]
    )
    labels = batch["labels"][batch["sbo_position"] >= 0]
    return out.loss + model.sbo_weight * torch.nn.functional.cross_entropy(sbo_logits, labels)


def speed_probe(heads: str, text_file: Path, settings: PretrainingSettings) -> Dict[str, float]:
    """Tokens/s of training steps (forward, backward, AdamW) and this process's peak RSS."""
    masked_lm = AutoModelForMaskedLM.from_pretrained(minilm_path())
    model = SpanBertForPreTraining(masked_lm)
    tokenizer = words_tokenizer(AutoTokenizer.from_pretrained(minilm_path()))
    texts = text_file.read_text(encoding="utf8").splitlines()[:400]
    blocks = TokenBlocks(texts, tokenizer, settings.max_length)
    collator = SpanMaskingCollator(tokenizer, seed=settings.seed)
    size = settings.batch_size
    batches = [
        collator([blocks[i] for i in range(start, start + size)])
        for start in range(0, (SPEED_STEPS + 1) * size, size)
    ]
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    n_tokens, elapsed = 0, 0.0
    for step, batch in enumerate(batches):
        start = time.perf_counter()
        loss = model(**batch)["loss"] if heads == "sparse" else dense_loss(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step is a warm-up
            elapsed += time.perf_counter() - start
            n_tokens += int(batch["attention_mask"].sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"tokens_per_second": n_tokens / elapsed, "peak_rss_mb": peak}


def pretraining_speed(text_file: Path, settings: PretrainingSettings) -> Dict[str, Any]:
    """Both heads in fresh processes, round-robin twice; the best tokens/s, the peak RSS."""
    best: Dict[str, Dict[str, float]] = {h: {"tokens_per_second": 0.0} for h in HEADS}
    for _ in range(2):
        for heads in HEADS:
            args = [sys.executable, __file__, "--probe", heads, "--probe-text", str(text_file)]
            args += ["--probe-settings", json.dumps(settings.__dict__)]
            result = json.loads(subprocess.run(args, check=True, capture_output=True).stdout)
            if result["tokens_per_second"] > best[heads]["tokens_per_second"]:
                best[heads] = result
    speed = {h: {k: round(v, 1) for k, v in best[h].items()} for h in HEADS}
    ratio = speed["sparse"]["tokens_per_second"] / speed["dense"]["tokens_per_second"]
    return {**speed, "sparse_speedup": round(ratio, 2)}


def pretrained_before(
    directory: Path, texts: List[str], settings: PretrainingSettings
) -> Optional[Dict[str, Any]]:
    """The summary of a pretraining an earlier run finished in ``directory`` with the same
    steps and batch size (read from the Trainer's state and log), or None."""
    state_file = (
        directory / "checkpoints" / f"checkpoint-{settings.max_steps}" / "trainer_state.json"
    )
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text())
    if (state["max_steps"], state["train_batch_size"]) != (settings.max_steps, settings.batch_size):
        return None
    runtime = json.loads((directory / "loss_log.jsonl").read_text().splitlines()[-1])[
        "train_runtime"
    ]
    tokenizer = words_tokenizer(AutoTokenizer.from_pretrained(minilm_path()))
    blocks = TokenBlocks(texts, tokenizer, settings.max_length)
    n_seen = settings.max_steps * settings.batch_size * settings.gradient_accumulation_steps
    return {
        "tokens_per_second": n_seen * blocks.n_tokens / len(blocks) / runtime,
        "mlm_head_loaded": mlm_head_present(minilm_path()),
        "sbo_head_loaded": (Path(minilm_path()) / SBO_WEIGHTS).is_file(),
        "blocks": len(blocks),
    }


def layer_cosines(encoder: str, texts: List[str]) -> List[float]:
    """Per hidden state (embeddings, then each layer): the mean cosine between a token's
    vector from the original encoder and from ``encoder``, over the tokens of ``texts``."""
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True)
    mask = batch["attention_mask"].bool()
    states = []
    for path in (minilm_path(), encoder):
        model = AutoModel.from_pretrained(path).eval()
        with torch.no_grad():
            states.append(model(**batch, output_hidden_states=True).hidden_states)
    return [
        round(torch.nn.functional.cosine_similarity(a[mask], b[mask]).mean().item(), 3)
        for a, b in zip(*states)
    ]


def loss_curve(directory: Path) -> Dict[str, List[float]]:
    entries = [
        json.loads(line)
        for line in (directory / "loss_log.jsonl").read_text().splitlines()
        if '"loss"' in line
    ]
    return {"step": [e["step"] for e in entries], "loss": [round(e["loss"], 4) for e in entries]}


def main() -> None:
    parser = benchmark_parser(__doc__, systems=SYSTEMS)
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "genia" / "jsonl")
    parser.add_argument("--pretrain-steps", type=int, default=0, help="default: the mode's")
    parser.add_argument(
        "--learning-rate", type=float, default=DEFAULT_LEARNING_RATE, help="pretraining"
    )
    parser.add_argument(
        "--reuse-pretrained",
        action="store_true",
        help="use encoders an earlier run finished in the work folder (same steps and batch)",
    )
    parser.add_argument(
        "--head-warmup-steps",
        type=int,
        default=0,
        help="pretraining steps that train only the heads",
    )
    parser.add_argument("--probe", choices=HEADS, help=argparse.SUPPRESS)
    parser.add_argument("--probe-text", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        settings = PretrainingSettings(**json.loads(args.probe_settings))
        torch.manual_seed(settings.seed)
        print(json.dumps(speed_probe(args.probe, args.probe_text, settings)))
        return
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (3000, 300, 150) if args.quick else (0, 500, 600)
    pretrain_steps, batch_size, max_length = (300, 8, 128) if args.quick else (3000, 32, 512)
    steps = args.steps or steps
    pretrain_steps = args.pretrain_steps or pretrain_steps
    name = "pretrain-genia"
    if args.head_warmup_steps:
        name += f"-head-warmup-{args.head_warmup_steps}"
    if args.learning_rate != DEFAULT_LEARNING_RATE:
        name += f"-lr-{args.learning_rate:g}"
    work = ROOT / "benchmarks" / "work" / name / mode
    text_file = work / "genia-train-abstracts.txt"
    texts = training_abstracts()
    text_file.parent.mkdir(parents=True, exist_ok=True)
    text_file.write_text("\n".join(texts) + "\n", encoding="utf8")
    settings = PretrainingSettings(
        max_steps=pretrain_steps,
        batch_size=batch_size,
        max_length=max_length,
        learning_rate=args.learning_rate,
        warmup_ratio=0.06,
        save_steps=pretrain_steps,
        logging_steps=max(pretrain_steps // 30, 1),
        head_warmup_steps=args.head_warmup_steps,
        bf16=args.gpu_id >= 0,
        seed=args.seed,
    )
    every_system = len(args.systems) == len(SYSTEMS)
    speed = pretraining_speed(text_file, settings) if args.gpu_id < 0 and every_system else {}
    if speed:
        msg.info(f"pretraining speed: {speed}")
    splits = prepare_genia(args.data, work, n_train, n_dev)
    dev_texts = [doc.text for doc in splits["dev"][:DRIFT_SENTENCES]]
    pretraining: Dict[str, Any] = {}
    encoders = {"none": minilm_path()} if "none" in args.systems else {}
    for system in [s for s in args.systems if s != "none"]:
        settings.objective = objective = system
        summary = (
            pretrained_before(work / system, texts, settings) if args.reuse_pretrained else None
        )
        if summary is None:
            summary = pretrain(minilm_path(), texts, work / system, settings=settings)
        pretraining[system] = {
            "tokens_per_second": round(summary["tokens_per_second"], 1),
            "mlm_head_loaded": summary["mlm_head_loaded"],
            "sbo_head_loaded": summary["sbo_head_loaded"],
            "blocks": summary["blocks"],
            "loss_curve": loss_curve(work / system),
            "layer_cosine_to_original": layer_cosines(str(work / system), dev_texts),
        }
        encoders[system] = str(work / system)
        msg.good(f"pretrained ({objective}): {summary}")
        msg.info(
            "token vectors' cosine to the original encoder's, embeddings then each layer: "
            f"{pretraining[system]['layer_cosine_to_original']}"
        )
    config = Config().from_disk(ROOT / "configs" / "spans.cfg", interpolate=False)
    systems: Dict[str, Any] = {}
    counts: Dict[str, numpy.ndarray] = {}
    for system, encoder in encoders.items():
        overrides = {
            **training_overrides(work, steps, args.seed),
            "paths.encoder": encoder,
            "components.spanbert_ner.suggester.max_size": MAX_WIDTH,
        }
        trained = spacy.load(train(config, work / f"ner-{system}", overrides))
        scores, examples = evaluate(trained, splits["test"])
        dev_scores, _ = evaluate(trained, splits["dev"])
        systems[system] = {**prf(scores, "spans_sc"), "dev_f1": dev_scores["spans_sc_f"]}
        counts[system] = span_counts(examples, "sc")
        msg.good(
            f"{system}: test F1 {systems[system]['f1']:.4f}, dev F1 {systems[system]['dev_f1']:.4f}"
        )
    differences = {
        f"{a} - {b}": {"f1": paired_bootstrap(micro_f1, counts[a], counts[b])}
        for a, b in (("span", "none"), ("span", "mlm"), ("mlm", "none"))
        if a in counts and b in counts
    }
    msg.table(
        [
            (n, *(f"{s[k]:.4f}" for k in ("precision", "recall", "f1", "dev_f1")))
            for n, s in systems.items()
        ],
        header=("continued pretraining", "P", "R", "F1", "dev F1"),
        divider=True,
    )
    print_per_label_f1(systems, "type")
    for pair, difference in differences.items():
        msg.info(f"F1 {pair} (95% paired bootstrap): {difference['f1']}")
    if speed:
        sparse, dense = (speed[h]["tokens_per_second"] for h in HEADS)
        msg.info(
            f"pretraining tokens/s: heads at labelled positions {sparse}, at every position "
            f"{dense} ({speed['sparse_speedup']}x)"
        )
    write_results(
        name,
        mode,
        {
            "dataset": "genia",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "pretraining_text": {
                "documents": len(texts),
                "words": sum(len(text.split()) for text in texts),
                "source": "GENIA 3.02 training split, title + abstract",
            },
            "pretraining": {
                "steps": pretrain_steps,
                "batch_size": batch_size,
                "max_length": max_length,
                "learning_rate": args.learning_rate,
                "head_warmup_steps": args.head_warmup_steps,
                "objectives": pretraining,
                "speed": speed,
            },
            "train": {"examples": len(splits["train"]), "steps": steps, "seed": args.seed},
            "systems": systems,
            "differences": differences,
        },
    )


if __name__ == "__main__":
    main()
