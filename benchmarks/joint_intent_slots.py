"""SNIPS / ATIS: joint sentence (intent) + span (slot) training vs each head alone.

Three pipelines from configs/joint.cfg on the same encoder (all-MiniLM-L6-v2), data, steps
and seed: (a) joint: transformer + spanbert_ner + spanbert_textcat, (b) spans_only,
(c) sentence_only. Prints intent accuracy, slot F1 and sentence accuracy (intent and every
slot right) side by side, beside JointBERT's published BERT-base figures for context.

The joint system's sentence loss weight is chosen on the dev split, as any hyperparameter
would be, by the target itself: one joint run per ``--sentence-weights`` value, each scored on
dev against the heads alone; the weight whose smaller margin (intent accuracy, slot F1) is
largest wins (ties go to the larger other margin) and only that run is scored on test (every
run's dev scores go to the results file).

    python benchmarks/joint_intent_slots.py snips --quick   # 2,000 sampled utterances, 150 steps
    python benchmarks/joint_intent_slots.py atis            # full training set, 600 steps

``--set KEY=VALUE`` passes a `spacy train` override of joint.cfg to every system whose config
has that section (a head alone trains the same with or without the other head's settings):
``--set components.spanbert_textcat.learn_rate_scale=30``.

The joint-minus-separate differences come with 95% paired bootstrap intervals over the
test utterances (see paired_bootstrap.py). ``--seeds 0,1,2`` trains every system once per
seed and reports means (per-seed scores in the results file); runs of single seeds, or of
single systems (``--train-only``), can go side by side and be scored together afterwards with
``--evaluate-only``:

    python benchmarks/joint_intent_slots.py snips --seeds 1 &
    python benchmarks/joint_intent_slots.py snips --seeds 2 --train-only joint &
    python benchmarks/joint_intent_slots.py snips --seeds 2 --train-only spans_only &
    python benchmarks/joint_intent_slots.py snips --seeds 2 --train-only sentence_only &
    wait; python benchmarks/joint_intent_slots.py snips --seeds 1,2 --evaluate-only
"""

import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy
import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    finished_model,
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
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus.intent_slots import combined_intent, read_intent_slots
from spacy_spanbert.scoring import gold_labels, predicted_labels, score_sentence_and_spans

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
# --joint-variant: `spacy train` overrides of the joint system alone (the heads alone are
# what they are without it)
JOINT_VARIANTS = {
    # the span head reads the sentence head's predicted intent distribution (doc.cats), set
    # during training too (annotating components): slot-gated joint intent + slot models
    "cats_conditioned": {
        "nlp.pipeline": '["transformer","spanbert_textcat","spanbert_ner"]',
        "components.spanbert_ner.model.@architectures": "spacy_spanbert.SpanBoundaryModel.v2",
        "components.spanbert_ner.model.use_doc_cats": "true",
        "training.annotating_components": '["transformer","spanbert_textcat"]',
    },
}
Fit = Callable[[Config, Path, Dict[str, Any]], Path]  # train, or model_from_previous_run


@dataclass
class Settings:
    """What a run changes of joint.cfg: ``--set`` overrides, and a ``--joint-variant``."""

    overrides: Dict[str, str] = field(default_factory=dict)
    joint_variant: str = ""


def without(config: Config, component: str) -> Config:
    config = config.copy()
    del config["components"][component]
    config["nlp"]["pipeline"] = [c for c in config["nlp"]["pipeline"] if c != component]
    return config


def evaluate(nlp, gold_docs) -> Tuple[Dict[str, Any], Dict[str, numpy.ndarray]]:
    """Test scores, and per-document records for the paired bootstrap: ``intent`` (1 if
    the label set is right) and ``slots`` (true positives, false positives, false
    negatives of the exact slot spans)."""
    predicted = list(nlp.pipe(Doc(nlp.vocab, words=[t.text for t in d]) for d in gold_docs))
    examples = [Example(p, g) for p, g in zip(predicted, gold_docs)]
    result: Dict[str, Any] = {}
    records: Dict[str, numpy.ndarray] = {}
    if "spanbert_ner" in nlp.pipe_names:
        result["slot_f1"] = Scorer.score_spans(
            examples, "spans_sc", getter=lambda doc, _: doc.spans.get("sc", []), allow_overlap=True
        )["spans_sc_f"]
        records["slots"] = span_counts(examples, "sc")
        assert abs(micro_f1(records["slots"]) - result["slot_f1"]) < 1e-6
    if "spanbert_textcat" in nlp.pipe_names:
        joint = score_sentence_and_spans(examples, spans_key="sc")
        result["intent_accuracy"] = joint["intent_acc"]
        records["intent"] = numpy.array(
            [
                predicted_labels(eg.predicted.cats) == gold_labels(eg.reference.cats)
                for eg in examples
            ]
        )
        assert abs(accuracy(records["intent"]) - result["intent_accuracy"]) < 1e-9
        if "spanbert_ner" in nlp.pipe_names:
            result["sentence_accuracy"] = joint["sentence_acc"]
    return result, records


def model_from_previous_run(config: Config, output: Path, overrides: Dict[str, Any]) -> Path:
    """``--evaluate-only``: the pipeline a previous run of this benchmark trained there."""
    model_dir = finished_model(output, overrides)
    if model_dir is None:
        msg.fail(
            f"{output} holds no finished training run with these settings; run without "
            "--evaluate-only",
            exits=1,
        )
    return model_dir


def has_setting(config: Config, key: str) -> bool:
    """Whether ``config`` has the section of the dotted `spacy train` override ``key``."""
    section: Any = config
    for name in key.split(".")[:-1]:
        if not isinstance(section, dict) or name not in section:
            return False
        section = section[name]
    return isinstance(section, dict)


def parse_settings(pairs: List[str], base: Config) -> Dict[str, str]:
    """``--set KEY=VALUE`` pairs as `spacy train` overrides; a key whose section is not in
    ``base`` (joint.cfg) is an error, not silently ignored."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value or not has_setting(base, key):
            msg.fail(
                f"--set {pair}: expected KEY=VALUE with KEY a setting of a section of "
                "configs/joint.cfg, e.g. components.spanbert_textcat.learn_rate_scale=30",
                exits=1,
            )
        settings[key] = value
    return settings


def results_name(dataset: str, settings: Settings) -> str:
    """``joint-<dataset>``; then the ``--joint-variant``; with ``--set`` settings, their
    last two key parts and values (``joint-atis-spanbert_textcat-learn_rate_scale-30``), so
    a variant's results never replace those of joint.cfg as shipped."""
    parts = [f"joint-{dataset}"] + ([settings.joint_variant] if settings.joint_variant else [])
    for key, value in settings.overrides.items():
        parts += [*key.replace("@", "").split(".")[-2:], value]
    return re.sub(r"[^\w.-]", "_", "-".join(parts))


def training_run(
    base: Config,
    seed_dir: Path,
    overrides: Dict[str, Any],
    settings: Settings,
    system: str,
    weight: str = "",
) -> Tuple[Config, Path, Dict[str, Any]]:
    """Config, output directory and `spacy train` overrides of one pipeline: a head alone,
    or the joint system with sentence loss weight ``weight`` (and its ``JOINT_VARIANTS``
    overrides), with the ``--set`` settings its config has a section for (a head alone
    trains the same with or without the other head's). Its directory's name carries a
    digest of those settings, so runs with and without them sit side by side."""
    dropped = HEADS[system]
    config = base if dropped is None else without(base, dropped)
    applied = {k: v for k, v in settings.overrides.items() if has_setting(config, k)}
    if dropped is None and settings.joint_variant:
        applied.update(JOINT_VARIANTS[settings.joint_variant])
    overrides = {**overrides, **applied, "training.score_weights": SCORE_WEIGHTS[system]}
    name = system if dropped is not None else f"joint-sentence{weight}"
    if applied:
        name += "-" + hashlib.sha1(json.dumps(applied, sort_keys=True).encode()).hexdigest()[:8]
    if dropped is None:
        overrides["loss_weights.sentence"] = weight
    return config, seed_dir / name, overrides


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


def choose_sentence_weight(
    fit: Fit,
    base: Config,
    work: Path,
    overrides: Dict[str, Any],
    settings: Settings,
    grid: str,
    dev: List[Doc],
    alone_dev: Dict[str, float],
) -> Tuple[float, Path, Dict[str, Dict[str, float]]]:
    """Train the joint system once per sentence weight in ``grid``, score each run on
    ``dev`` and keep the ``best_weight``; return it, its model, and the dev scores (the heads
    alone under "heads alone", each weight's run, with its ``margin``, under the weight)."""
    models: Dict[str, Path] = {}
    runs: Dict[str, Dict[str, float]] = {}
    for weight in grid.split(","):
        models[weight] = fit(*training_run(base, work, overrides, settings, "joint", weight))
        runs[weight], _ = evaluate(spacy.load(models[weight]), dev)
        msg.info(f"sentence weight {weight}, dev: {runs[weight]}")
    best = best_weight(runs, alone_dev)
    msg.good(f"sentence weight {best} chosen on dev")
    return float(best), models[best], {"heads alone": alone_dev, **runs}


def train_and_score(
    seed: int,
    fit: Fit,
    base: Config,
    work: Path,
    steps: int,
    grid: str,
    splits: Dict[str, List[Doc]],
    settings: Settings,
) -> Dict[str, Any]:
    """One training seed: each head alone, then the joint system (its sentence weight chosen
    on dev against them), trained under ``work``/seed<seed> and scored on the test split.
    Returns the test scores per system (``systems``), the per-utterance records
    (``records``), the chosen weight and the dev scores behind the choice. ``settings``:
    what changes of joint.cfg (``--set``, ``--joint-variant``)."""
    overrides = training_overrides(work, steps, seed)
    seed_dir = work / f"seed{seed}"
    models: Dict[str, Path] = {}
    alone_dev: Dict[str, float] = {}
    for system, dropped in HEADS.items():
        if dropped is not None:
            models[system] = fit(*training_run(base, seed_dir, overrides, settings, system))
            alone_dev.update(evaluate(spacy.load(models[system]), splits["dev"])[0])
    out: Dict[str, Any] = {"systems": {}, "records": {}}
    out["sentence_weight"], models["joint"], out["sentence_weight_dev"] = choose_sentence_weight(
        fit, base, seed_dir, overrides, settings, grid, splits["dev"], alone_dev
    )
    for system in HEADS:
        nlp = spacy.load(models[system])
        out["systems"][system], out["records"][system] = evaluate(nlp, splits["test"])
        msg.good(f"seed {seed}, {system}: {out['systems'][system]}")
    return out


def train_only(
    system: str,
    seeds: List[int],
    base: Config,
    work: Path,
    steps: int,
    grid: str,
    settings: Settings,
) -> None:
    """``--train-only``: train one system (joint: once per sentence weight) per seed."""
    for seed in seeds:
        overrides = training_overrides(work, steps, seed)
        for weight in grid.split(",") if system == "joint" else [""]:
            train(*training_run(base, work / f"seed{seed}", overrides, settings, system, weight))


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
        "--evaluate-only",
        action="store_true",
        help="score the pipelines a previous run of this mode left under benchmarks/work",
    )
    parser.add_argument(
        "--train-only",
        choices=sorted(HEADS),
        help="train this system (joint: once per sentence weight) and score nothing; runs "
        "side by side are scored together afterwards with --evaluate-only",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a `spacy train` override of configs/joint.cfg for every system that has its "
        "section (repeatable), e.g. components.spanbert_textcat.learn_rate_scale=30",
    )
    parser.add_argument(
        "--joint-variant",
        choices=sorted(JOINT_VARIANTS),
        help="train the joint system with these overrides of configs/joint.cfg (the heads "
        "alone as without): cats_conditioned, the span head reads the predicted intents",
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
    settings = Settings(parse_settings(args.set, base), args.joint_variant or "")
    if args.train_only:
        train_only(args.train_only, args.seeds, base, work, steps, args.sentence_weights, settings)
        return
    fit = model_from_previous_run if args.evaluate_only else train
    runs = [
        train_and_score(seed, fit, base, work, steps, args.sentence_weights, splits, settings)
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
    if args.evaluate_only:  # the run that trained what was scored
        script = Path(sys.argv[0]).resolve().relative_to(ROOT).as_posix()
        args_used = [a for a in sys.argv[1:] if a != "--evaluate-only"]
        extra["trained_by"] = " ".join(["python", script, *args_used])
    write_results(
        results_name(args.dataset, settings),
        mode,
        {
            "dataset": args.dataset,
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {"examples": len(splits["train"]), "steps": steps, "seeds": args.seeds},
            "config_overrides": settings.overrides,
            **(
                {"joint_variant": {settings.joint_variant: JOINT_VARIANTS[settings.joint_variant]}}
                if settings.joint_variant
                else {}
            ),
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
