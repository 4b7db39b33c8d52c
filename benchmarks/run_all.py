"""Every full benchmark: trained side by side, then scored; the timed ones on an idle machine.

Training runs ``--jobs`` processes at a time (the CPU threads split between them), one
pipeline each: per system (CoNLL-2003, GENIA), per seed, system and sentence weight (joint),
and CoNLL04. Each joint benchmark is scored (``--evaluate-only``) as soon as its pipelines
have trained. The benchmarks that measure speed run last, one at a time, with nothing beside
them: CoNLL-2003 and GENIA with ``--reuse-models`` (words/s), then WNUT-17 pretraining
(tokens/s). Each script writes its own results file; the logs go to LOGS.

    python benchmarks/run_all.py --jobs 13 --gpu-id 0   # one GPU machine with 16 cores
    python benchmarks/run_all.py --jobs 2               # 2-core CPU, 24 GiB: a day or more
"""

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Sequence

from wasabi import msg

BENCHMARKS = Path(__file__).resolve().parent
LOGS = BENCHMARKS / "work" / "logs"
JOINT_DATA = ("atis", "snips")
SENTENCE_WEIGHTS = ("0.01", "0.03", "0.1")  # the joint benchmark's grid, chosen on dev


def training_jobs(seeds: Sequence[int]) -> Dict[str, List[List[str]]]:
    """Training runs per benchmark, one pipeline each, the longest first."""
    jobs = {
        "genia": [
            ["nested_genia.py", "--systems", system] for system in ("spanbert_ner", "spacy_spancat")
        ],
        "conll2003": [
            ["ner_conll2003.py", "--systems", system]
            for system in ("spacy_spancat", "spanbert_ner", "spacy_ner")
        ],
    }
    for data in JOINT_DATA:
        jobs[data] = [
            ["joint_intent_slots.py", data, "--seeds", str(seed), "--train-only", *system]
            for seed in seeds
            for system in (
                *(["joint", "--sentence-weights", weight] for weight in SENTENCE_WEIGHTS),
                ["spans_only"],
                ["sentence_only"],
            )
        ]
    jobs["conll04"] = [["rel_conll04.py"]]
    return jobs


def joint_scoring_job(data: str, seeds: Sequence[int]) -> List[str]:
    """All seeds of one joint benchmark scored together (no timing: runs beside training)."""
    all_seeds = ",".join(map(str, seeds))
    weights = ",".join(SENTENCE_WEIGHTS)
    return [
        *("joint_intent_slots.py", data, "--seeds", all_seeds, "--evaluate-only"),
        *("--sentence-weights", weights),
    ]


TIMED_JOBS = (
    ["ner_conll2003.py", "--reuse-models"],
    ["nested_genia.py", "--reuse-models"],
    ["pretrain_wnut17.py"],
)


def run(job: List[str], extra: List[str], threads: int) -> bool:
    """Run one benchmark script with its output in a log file; True if it exited 0."""
    name = "-".join(part.lstrip("-").replace(",", "_") for part in job).replace(".py", "")
    log = LOGS / f"{name}.log"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    args = [sys.executable, str(BENCHMARKS / job[0]), *job[1:], *extra]
    msg.info(f"start {' '.join(job)} (log: {log.relative_to(BENCHMARKS.parent)})")
    start = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    minutes = (time.perf_counter() - start) / 60
    if code == 0:
        msg.good(f"done {' '.join(job)} in {minutes:.1f} min")
    else:
        msg.fail(f"{' '.join(job)} exited {code} after {minutes:.1f} min; see {log}")
    return code == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="training processes at a time")
    parser.add_argument("--gpu-id", type=int, default=-1, help="passed to every script")
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(seed) for seed in text.split(",")],
        default=[0, 1, 2],
        help="training seeds of the joint benchmarks",
    )
    args = parser.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    extra = ["--gpu-id", str(args.gpu_id)]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    with ThreadPoolExecutor(args.jobs) as pool, ThreadPoolExecutor(len(JOINT_DATA)) as scoring:
        training = {
            name: [pool.submit(run, job, extra, threads) for job in jobs]
            for name, jobs in training_jobs(args.seeds).items()
        }

        def score_when_trained(data: str) -> bool:
            trained = all([future.result() for future in training[data]])
            return trained and run(joint_scoring_job(data, args.seeds), extra, threads)

        scored = [scoring.submit(score_when_trained, data) for data in JOINT_DATA]
        results = [future.result() for futures in training.values() for future in futures]
        results += [future.result() for future in scored]
    results += [run(job, extra, os.cpu_count() or 1) for job in TIMED_JOBS]
    failed = results.count(False)
    if failed:
        msg.fail(f"{failed} benchmark runs failed", exits=1)
    msg.good("every benchmark ran")


if __name__ == "__main__":
    main()
