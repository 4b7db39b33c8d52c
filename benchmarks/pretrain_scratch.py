"""SpanBERT's central claim where it can be measured: the same small BERT pretrained from
scratch with span masking + SBO, whole-word masking, single-token masking, or not at all,
then fine-tuned on span tasks.

1. One WordPiece vocabulary (cased) is trained on the training splits' text of GENIA
   (abstracts), CoNLL-2003, CoNLL04, WNUT-17 and SNIPS (no dev or test text), and one
   randomly initialized BERT (full: "mini", 4 layers x 256; quick: "tiny", 2 x 128) is
   built with it.
2. That model is pretrained three times on the same text, with the same steps, batch, block
   length, learning rate, schedule and seed: ``--objective span``, ``mlm``, ``token``.
   "none" is the random initialization itself. Each objective's tokens/s is then timed over
   50 steps, the three back to back.
3. Each of the four encoders is fine-tuned with identical settings on GENIA nested NER
   (configs/spans.cfg), CoNLL04 relations end to end (configs/rel.cfg) and CoNLL-2003 flat
   NER (configs/ner.cfg); test F1 of each, with 95% paired-bootstrap intervals of the
   differences span - mlm, mlm - token, token - none (and span - none).

    python benchmarks/pretrain_scratch.py --quick   # tiny BERT, 400 steps, task subsets
    python benchmarks/pretrain_scratch.py           # mini BERT, 3,000 steps, full tasks
    ... --reuse-trained   # after a run that stopped: finished pretrainings and fine-tunings
                          # with the same settings are reused, unfinished pretrainings resume
"""

import json
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy
import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    trained_or_train,
    training_overrides,
    write_results,
)
from genia_abstracts import training_abstracts
from ner_conll2003 import prepare_conll2003
from nested_genia import MAX_WIDTH, prepare_genia
from paired_bootstrap import (
    entity_counts,
    micro_f1,
    paired_bootstrap,
    relation_counts,
    span_counts,
)
from rel_conll04 import prepare_conll04
from transformers import BertModel, BertTokenizerFast
from wasabi import msg

from spacy_spanbert.corpus import read_conll
from spacy_spanbert.corpus.relations_json import read_relations_json
from spacy_spanbert.pretraining import PretrainingSettings, build_from_scratch, pretrain
from spacy_spanbert.pretraining.scratch import SIZES as SCRATCH_SIZES

OBJECTIVES = ("span", "mlm", "token")
SYSTEMS = (*OBJECTIVES, "none")
COMPARISONS = (("span", "mlm"), ("mlm", "token"), ("token", "none"), ("span", "none"))
SIZES = {"quick": "tiny", "full": "mini"}  # tiny: 2 layers x 128; mini: 4 layers x 256
VOCAB_SIZE = 8000
TIMING_STEPS = 50
FINE_TUNE_RATE = 5e-4  # every system: random or briefly pretrained encoders need more than 1e-4
FINE_TUNE_STEPS = {
    "quick": {"genia": 300, "conll04": 300, "conll2003": 300},
    "full": {"genia": 1500, "conll04": 800, "conll2003": 1500},
}


def pretraining_texts() -> Dict[str, List[str]]:
    """The training splits' text of each data set (no dev or test text)."""
    vocab = spacy.blank("en").vocab
    conll = SHARED_DATA / "conll2003" / "iob2" / "train.txt"
    wnut = SHARED_DATA / "wnut17" / "wnut17train.conll"
    conll04 = SHARED_DATA / "conll04" / "two_are_better" / "train.CoNLL04.json"
    return {
        "genia": training_abstracts(),
        "conll2003": [doc.text for doc in read_conll(conll, vocab, n_sents=10)],
        "conll04": [doc.text for doc in read_relations_json(conll04, vocab)],
        "wnut17": [doc.text for doc in read_conll(wnut, vocab, n_sents=10)],
        "snips": (SHARED_DATA / "snips" / "train" / "seq.in").read_text().splitlines(),
    }


def majority_share(directory: Path, texts: List[str]) -> float:
    """Share of the most frequent wordpiece among all wordpieces: what always guessing it
    would score at predicting masked tokens (the chance level for SBO and MLM accuracy)."""
    tokenizer = BertTokenizerFast.from_pretrained(str(directory))
    counts: Counter = Counter()
    for text in texts:
        counts.update(tokenizer(text, add_special_tokens=False)["input_ids"])
    return counts.most_common(1)[0][1] / sum(counts.values())


def loss_curves(directory: Path) -> Dict[str, List[List[float]]]:
    """[step, value] of each logged loss and accuracy of a pretraining run."""
    curves: Dict[str, List[List[float]]] = {}
    for line in (directory / "loss_log.jsonl").read_text().splitlines():
        entry = json.loads(line)
        for key in ("loss", "mlm_loss", "sbo_loss", "mlm_accuracy", "sbo_accuracy"):
            if key in entry:
                curves.setdefault(key, []).append([entry["step"], entry[key]])
    return curves


def tasks(work: Path, quick: bool) -> Dict[str, Dict[str, Any]]:
    """Per task: its config, data (written to its work folder), steps, dev split, and how
    its test F1 and per-document counts are read."""
    genia = prepare_genia(
        SHARED_DATA / "genia" / "jsonl", work / "genia", 3000 if quick else 0, 500
    )
    conll04 = prepare_conll04(work / "conll04", 0)
    conll2003 = prepare_conll2003(
        SHARED_DATA / "conll2003" / "iob2", work / "conll2003", 3000 if quick else 0, 1000
    )
    steps = FINE_TUNE_STEPS["quick" if quick else "full"]
    return {
        "genia": {
            "config": "spans.cfg",
            "splits": genia,
            "dev": "dev",
            "steps": steps["genia"],
            "f1": "spans_sc_f",
            "counts": lambda egs: span_counts(egs, "sc"),
            "overrides": {"components.spanbert_ner.suggester.max_size": MAX_WIDTH},
        },
        "conll04": {
            "config": "rel.cfg",
            "splits": conll04,
            "dev": "valid",
            "steps": steps["conll04"],
            "f1": "rel_micro_f",
            "counts": relation_counts,
            "overrides": {},
        },
        "conll2003": {
            "config": "ner.cfg",
            "splits": conll2003,
            "dev": "dev",
            "steps": steps["conll2003"],
            "f1": "ents_f",
            "counts": entity_counts,
            "overrides": {},
        },
    }


def pretrained(
    initial: Path, texts: List[str], output: Path, settings: PretrainingSettings, reuse: bool
) -> Dict[str, Any]:
    """``pretrain``'s summary for ``settings.objective`` into ``output``; with ``reuse``, the
    summary of an earlier run with the same settings, or that run resumed from its last
    checkpoint."""
    record = output / "summary.json"
    recorded = {"settings": asdict(settings)}
    if reuse and record.exists():
        earlier = json.loads(record.read_text())
        if earlier["settings"] == recorded["settings"]:
            msg.info(f"{output.name}: reusing the pretraining finished in {output}")
            return earlier["summary"]
    resume = reuse and (output / "checkpoints").is_dir() and any((output / "checkpoints").iterdir())
    summary = pretrain(initial, texts, output, settings=settings, resume=resume)
    record.write_text(json.dumps({**recorded, "summary": summary}, indent=1))
    return summary


def throughputs(
    initial: Path, texts: List[str], output: Path, settings: PretrainingSettings, reuse: bool
) -> Dict[str, float]:
    """Pretraining tokens/s of each objective over TIMING_STEPS steps from the random
    initialization, the objectives timed back to back in one process, so that whatever else
    ran beside the long pretrainings (which may have been resumed) doesn't enter the
    comparison. With ``reuse``, the timings an earlier run recorded with the same settings."""
    timing = replace(settings, max_steps=TIMING_STEPS, save_steps=10 * TIMING_STEPS)
    record = output / "timings.json"
    recorded = {"settings": {**asdict(timing), "objective": list(OBJECTIVES)}}
    if reuse and record.exists():
        earlier = json.loads(record.read_text())
        if earlier["settings"] == recorded["settings"]:
            msg.info(f"reusing the tokens/s timed in {record}")
            return earlier["tokens_per_second"]
    timed = {}
    for objective in OBJECTIVES:
        summary = pretrain(
            initial, texts, output / objective, settings=replace(timing, objective=objective)
        )
        timed[objective] = round(float(summary["tokens_per_second"]), 1)
    record.write_text(json.dumps({**recorded, "tokens_per_second": timed}, indent=1))
    return timed


def pretraining_settings(quick: bool, seed: int) -> PretrainingSettings:
    """The settings every objective is pretrained with (``objective`` aside)."""
    steps = 400 if quick else 3000
    return PretrainingSettings(
        max_steps=steps,
        batch_size=32,
        max_length=128,
        learning_rate=5e-4,
        warmup_ratio=0.06,
        save_steps=500,
        logging_steps=max(steps // 30, 1),
        seed=seed,
    )


def fine_tune(
    task: Dict[str, Any], work: Path, encoder: Path, seed: int, reuse: bool
) -> Tuple[float, numpy.ndarray]:
    overrides = {
        **training_overrides(work, task["steps"], seed, dev=task["dev"]),
        "paths.encoder": str(encoder),
        "training.optimizer.learn_rate.initial_rate": FINE_TUNE_RATE,
        **task["overrides"],
    }
    config_file = ROOT / "configs" / task["config"]
    model_dir = trained_or_train(config_file, work / f"model-{encoder.name}", overrides, reuse)
    scores, examples = evaluate(spacy.load(model_dir), task["splits"]["test"])
    counts: Callable[[Any], numpy.ndarray] = task["counts"]
    return float(scores[task["f1"]]), counts(examples)


def main() -> None:
    parser = benchmark_parser(__doc__, reuse=True)
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    work = ROOT / "benchmarks" / "work" / "pretrain-scratch" / mode
    texts_by_source = pretraining_texts()
    texts = [text for source in texts_by_source.values() for text in source]
    words = sum(len(text.split()) for text in texts)
    msg.info(f"pretraining text: {len(texts)} documents, {words} words")
    initial = work / "none"
    if not (args.reuse_trained and (initial / "config.json").exists()):
        build_from_scratch(
            texts, initial, SIZES[mode], vocab_size=VOCAB_SIZE, lowercase=False, seed=args.seed
        )
    settings = pretraining_settings(args.quick, args.seed)
    pretraining: Dict[str, Any] = {}
    encoders = {"none": initial}
    for objective in OBJECTIVES:
        settings.objective = objective
        pretrained(initial, texts, work / objective, settings, args.reuse_trained)
        curves = loss_curves(work / objective)
        pretraining[objective] = {
            "final": {key: values[-1][1] for key, values in curves.items()},
            "curves": curves,
        }
        encoders[objective] = work / objective
        msg.good(f"pretrained ({objective}): {pretraining[objective]['final']}")
    timed = throughputs(initial, texts, work / "timing", settings, args.reuse_trained)
    for objective, tokens_per_second in timed.items():
        pretraining[objective]["tokens_per_second"] = tokens_per_second
    chance = majority_share(initial, texts[:2000])
    systems: Dict[str, Dict[str, Any]] = {name: {} for name in SYSTEMS}
    differences: Dict[str, Any] = {}
    for task_name, task in tasks(work / "tasks", args.quick).items():
        counts = {}
        for name in SYSTEMS:
            f1, counts[name] = fine_tune(
                task, work / "tasks" / task_name, encoders[name], args.seed, args.reuse_trained
            )
            systems[name][task_name] = {"f1": f1}
            msg.info(f"{task_name}, {name}: test F1 {f1:.4f}")
        for a, b in COMPARISONS:
            differences.setdefault(f"{a} - {b}", {})[task_name] = paired_bootstrap(
                micro_f1, counts[a], counts[b]
            )
    msg.table(
        [(name, *(f"{systems[name][t]['f1']:.4f}" for t in systems[name])) for name in SYSTEMS],
        header=("pretraining", *systems["span"]),
        divider=True,
    )
    for pair, by_task in differences.items():
        msg.info(f"{pair}: {by_task}")
    n_params = sum(p.numel() for p in BertModel.from_pretrained(str(initial)).parameters())
    write_results(
        "pretrain-scratch",
        mode,
        {
            "dataset": "genia, conll04, conll2003",
            "split": "test",
            "encoder": f"BERT {SIZES[mode]} from scratch ({SCRATCH_SIZES[SIZES[mode]]})",
            "encoder_parameters": n_params,
            "vocabulary": VOCAB_SIZE,
            "pretraining_text": {
                "documents": len(texts),
                "words": words,
                "sources": {k: len(v) for k, v in texts_by_source.items()},
            },
            "pretraining": {
                "steps": settings.max_steps,
                "batch_size": settings.batch_size,
                "max_length": settings.max_length,
                "learning_rate": settings.learning_rate,
                "objectives": pretraining,
                "masked_token_chance_accuracy": round(chance, 4),
                "timing_steps": TIMING_STEPS,
            },
            "tokens_per_second": timed,
            "train": {
                "steps": FINE_TUNE_STEPS[mode],
                "seed": args.seed,
                "learning_rate": FINE_TUNE_RATE,
            },
            "systems": systems,
            "differences": differences,
        },
    )


if __name__ == "__main__":
    main()
