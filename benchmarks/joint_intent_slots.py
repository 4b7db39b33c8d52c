"""SNIPS / ATIS: joint sentence (intent) + span (slot) training vs each head alone.

Three pipelines from configs/joint.cfg on the same encoder (all-MiniLM-L6-v2), data, steps
and seed: (a) joint: transformer + spanbert_ner + spanbert_textcat, (b) spans_only,
(c) sentence_only. Prints intent accuracy, slot F1 and sentence accuracy (intent and every
slot right) side by side, beside JointBERT's published BERT-base figures for context.

The joint system's sentence loss weight is chosen on the dev split, as any hyperparameter
would be, by the target itself: one joint run per ``--sentence-weights`` value, each scored on
dev against the heads alone; the weight whose smaller margin (intent accuracy, slot F1) is
largest wins (ties go to the larger other margin) and only that run is scored on test.
``--seeds 0,1,2`` trains every system once per seed and reports means; the joint-minus-
separate differences come with 95% paired bootstrap intervals over the test utterances.

    python benchmarks/joint_intent_slots.py snips --quick   # 2,000 sampled utterances, 150 steps
    python benchmarks/joint_intent_slots.py atis            # full training set, 600 steps

``--joint-overrides FILE.cfg`` changes joint.cfg's settings for the joint system alone (the
heads alone stay as they are); results go to ``joint-<dataset>-<FILE>.json``:

    python benchmarks/joint_intent_slots.py atis \\
        --joint-overrides benchmarks/configs/cats_conditioned.cfg
"""

import json
import random
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy
import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    save_docbin,
    train,
    training_overrides,
    use_device,
    write_results,
)
from paired_bootstrap import (
    Metric,
    accuracy,
    micro_f1,
    paired_bootstrap,
    pooled_over_seeds,
    span_counts,
)
from spacy.tokens import Doc
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus.intent_slots import combined_intent, read_intent_slots
from spacy_spanbert.joint import gold_labels, predicted_labels

# Chen, Zhuo & Wang 2019 (arXiv:1902.10909), Table 2, Joint BERT (BERT-base).
JOINTBERT = {
    "snips": {"intent_accuracy": 0.986, "slot_f1": 0.970, "sentence_accuracy": 0.928},
    "atis": {"intent_accuracy": 0.975, "slot_f1": 0.961, "sentence_accuracy": 0.882},
}
SAMPLE_SEED = 0  # the --quick subsets
HEADS = {"joint": None, "spans_only": "spanbert_textcat", "sentence_only": "spanbert_ner"}
SCORE_WEIGHTS = {  # spacy train's training.score_weights per system
    # the zero weights show those scores in the training log
    "joint": '{"sentence_acc": 1.0, "spans_sc_f": 0.0, "cats_macro_f": 0.0}',
    "spans_only": '{"spans_sc_f": 1.0}',
    "sentence_only": '{"cats_macro_f": 1.0}',
}


def without(config: Config, component: str) -> Config:
    config = config.copy()
    del config["components"][component]
    config["nlp"]["pipeline"] = [c for c in config["nlp"]["pipeline"] if c != component]
    return config


def score(nlp, gold_docs) -> Tuple[Dict[str, Any], Dict[str, numpy.ndarray]]:
    """Scores, and per-document records for the paired bootstrap: ``intent`` (1 if the
    label set is right) and ``slots`` (true positives, false positives, false negatives of
    the exact slot spans)."""
    scores, examples = evaluate(nlp, gold_docs)
    result: Dict[str, Any] = {}
    records: Dict[str, numpy.ndarray] = {}
    if "spanbert_ner" in nlp.pipe_names:
        result["slot_f1"] = scores["spans_sc_f"]
        records["slots"] = span_counts(examples, "sc")
    if "spanbert_textcat" in nlp.pipe_names:
        result["intent_accuracy"] = scores["intent_acc"]
        records["intent"] = numpy.array(
            [
                predicted_labels(eg.predicted.cats) == gold_labels(eg.reference.cats)
                for eg in examples
            ]
        )
        if "spanbert_ner" in nlp.pipe_names:
            result["sentence_accuracy"] = scores["sentence_acc"]
    return result, records


def flat_settings(config: Dict[str, Any], prefix: str = "") -> Iterator[Tuple[str, str]]:
    """The settings of a .cfg file as `spacy train` overrides (dotted keys, JSON values)."""
    for key, value in config.items():
        if isinstance(value, dict):
            yield from flat_settings(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value if isinstance(value, str) else json.dumps(value)


def training_run(
    base: Config,
    seed_dir: Path,
    overrides: Dict[str, Any],
    system: str,
    weight: str = "",
    joint_overrides: Optional[Dict[str, str]] = None,
) -> Tuple[Config, Path, Dict[str, Any]]:
    """Config, output directory and `spacy train` overrides of one pipeline: a head alone,
    or the joint system with sentence loss weight ``weight`` and ``joint_overrides``."""
    dropped = HEADS[system]
    if dropped is not None:
        config = without(base, dropped)
        overrides = {**overrides, "training.score_weights": SCORE_WEIGHTS[system]}
        return config, seed_dir / system, overrides
    overrides = {
        **overrides,
        **(joint_overrides or {}),
        "training.score_weights": SCORE_WEIGHTS[system],
        "loss_weights.sentence": weight,
    }
    return base, seed_dir / f"joint-sentence{weight}", overrides


def best_weight(runs: Dict[str, Dict[str, float]], alone_dev: Dict[str, float]) -> str:
    """The weight in ``runs`` (each weight's dev scores) whose smaller margin over the heads
    alone (``alone_dev``: intent accuracy, slot F1) is largest; a tie on it (intent accuracy
    at its ceiling, where one dev utterance moves the margin) goes to the larger other margin.
    Adds each run's ``margin`` (the smaller) to its scores."""
    margins = {}
    for weight, scores in runs.items():
        margins[weight] = sorted(scores[m] - alone_dev[m] for m in ("intent_accuracy", "slot_f1"))
        scores["margin"] = margins[weight][0]
    return max(runs, key=lambda w: margins[w])


def train_and_score(
    seed: int,
    base: Config,
    work: Path,
    steps: int,
    grid: str,
    splits: Dict[str, List[Doc]],
    joint_overrides: Dict[str, str],
) -> Dict[str, Any]:
    """One training seed: each head alone, then the joint system once per sentence weight in
    ``grid``, the weight chosen on dev against the heads alone, trained under
    ``work``/seed<seed>; every system scored on the test split. Returns the test scores per
    system (``systems``), the per-utterance records (``records``), the chosen weight and the
    dev scores behind the choice."""
    overrides = training_overrides(work, steps, seed)
    seed_dir = work / f"seed{seed}"
    models: Dict[str, Path] = {}
    alone_dev: Dict[str, float] = {}
    for system, dropped in HEADS.items():
        if dropped is not None:
            models[system] = train(*training_run(base, seed_dir, overrides, system))
            alone_dev.update(score(spacy.load(models[system]), splits["dev"])[0])
    joint_models: Dict[str, Path] = {}
    runs: Dict[str, Dict[str, float]] = {}
    for weight in grid.split(","):
        run = training_run(base, seed_dir, overrides, "joint", weight, joint_overrides)
        joint_models[weight] = train(*run)
        runs[weight], _ = score(spacy.load(joint_models[weight]), splits["dev"])
        msg.info(f"sentence weight {weight}, dev: {runs[weight]}")
    chosen = best_weight(runs, alone_dev)
    msg.good(f"sentence weight {chosen} chosen on dev")
    models["joint"] = joint_models[chosen]
    out: Dict[str, Any] = {
        "systems": {},
        "records": {},
        "sentence_weight": float(chosen),
        "sentence_weight_dev": {"heads alone": alone_dev, **runs},
    }
    for system in HEADS:
        out["systems"][system], out["records"][system] = score(
            spacy.load(models[system]), splits["test"]
        )
        msg.good(f"seed {seed}, {system}: {out['systems'][system]}")
    return out


def joint_minus_separate(runs: List[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """Joint minus head-alone on test with a paired bootstrap over utterances, the seeds'
    records pooled per utterance (``pooled_over_seeds``)."""

    def pooled(metric: Metric, system: str, record: str) -> numpy.ndarray:
        return pooled_over_seeds(metric, [run["records"][system][record] for run in runs])

    return {
        "slot_f1": paired_bootstrap(
            micro_f1,
            pooled(micro_f1, "joint", "slots"),
            pooled(micro_f1, "spans_only", "slots"),
        ),
        "intent_accuracy": paired_bootstrap(
            accuracy,
            pooled(accuracy, "joint", "intent"),
            pooled(accuracy, "sentence_only", "intent"),
        ),
    }


def mean_scores(runs: List[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """Each system's test scores averaged over the seeds' runs."""
    return {
        system: {
            metric: float(numpy.mean([run["systems"][system][metric] for run in runs]))
            for metric in scores
        }
        for system, scores in runs[0]["systems"].items()
    }


def main() -> None:
    parser = benchmark_parser(__doc__, several_seeds=True)
    parser.add_argument("dataset", choices=sorted(JOINTBERT))
    parser.add_argument(
        "--sentence-weights",
        default="0.01,0.03,0.1",
        help="comma-separated sentence loss weights for the joint system, chosen on dev",
    )
    parser.add_argument(
        "--joint-overrides",
        type=Path,
        help="a .cfg file of settings that change configs/joint.cfg for the joint system "
        "alone, e.g. benchmarks/configs/cats_conditioned.cfg",
    )
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (2000, 300, 150) if args.quick else (0, 0, 600)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / args.dataset / mode
    nlp = spacy.blank("en")
    # one label per utterance (ATIS's "a#b" is its own label), as JointBERT counts them, for
    # the exclusive (softmax) sentence head of configs/joint.cfg
    intents = sorted(
        {
            combined_intent(line)
            for split in ("train", "dev", "test")
            for line in (SHARED_DATA / args.dataset / split / "label").read_text().split()
        }
    )
    splits = {}
    for split, limit in (("train", n_train), ("dev", n_dev), ("test", 0)):
        docs = read_intent_slots(
            SHARED_DATA / args.dataset / split, nlp.vocab, intents=intents, combine_intents=True
        )
        # a fixed sample, not the head (SNIPS's dev file is sorted by intent); the seeds
        # vary training only
        splits[split] = random.Random(SAMPLE_SEED).sample(docs, limit) if limit else docs
        save_docbin(splits[split], work / f"{split}.spacy")
    base = Config().from_disk(ROOT / "configs" / "joint.cfg", interpolate=False)
    joint_overrides = {}
    results_name = f"joint-{args.dataset}"
    if args.joint_overrides:
        settings = Config().from_disk(args.joint_overrides, interpolate=False)
        joint_overrides = dict(flat_settings(settings))
        results_name += f"-{args.joint_overrides.stem}"
    runs = [
        train_and_score(seed, base, work, steps, args.sentence_weights, splits, joint_overrides)
        for seed in args.seeds
    ]
    systems = mean_scores(runs)
    differences = joint_minus_separate(runs)
    metrics = ("intent_accuracy", "slot_f1", "sentence_accuracy")
    rows = [
        (name, *(f"{s[m]:.4f}" if m in s else "-" for m in metrics)) for name, s in systems.items()
    ]
    rows.append(
        (
            "JointBERT (BERT-base, published)",
            *(f"{JOINTBERT[args.dataset][m]:.3f}" for m in metrics),
        )
    )
    seeds = ", ".join(map(str, args.seeds))
    msg.table(rows, header=(f"system (seeds {seeds})", *metrics), divider=True)
    msg.table(
        [
            (m, d["difference"], f"[{d['ci95_low']}, {d['ci95_high']}]")
            for m, d in differences.items()
        ],
        header=("joint - separate (test)", "difference", "95% paired bootstrap interval"),
        divider=True,
    )
    extra: Dict[str, Any] = {}
    if len(runs) > 1:
        extra["per_seed"] = {
            str(seed): {
                "systems": run["systems"],
                "joint_minus_separate": joint_minus_separate([run]),
            }
            for seed, run in zip(args.seeds, runs)
        }
    write_results(
        results_name,
        mode,
        {
            "dataset": args.dataset,
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {"examples": len(splits["train"]), "steps": steps, "seeds": args.seeds},
            "joint_overrides": joint_overrides,
            "loss_weights": {
                "spans": base["loss_weights"]["spans"],
                "sentence": [run["sentence_weight"] for run in runs],
            },
            "sentence_weight_dev": {
                str(seed): run["sentence_weight_dev"] for seed, run in zip(args.seeds, runs)
            },
            "systems": systems,
            "joint_minus_separate": differences,
            **extra,
            "published": {"JointBERT (BERT-base)": JOINTBERT[args.dataset]},
        },
    )


if __name__ == "__main__":
    main()
