"""Faults: `annotate` killed for real (SIGKILL at seeded points across a run of several
shards, with --n-process 1 and 2), run out of disk (a file-size limit, SIGXFSZ ignored, so
writes fail instead of killing), then rerun with the same command: the output must equal an
uninterrupted run's byte for byte, or the run must fail with one clear line and leave what it
had written whole. Also every reader fuzzed (tests/test_fuzz_readers.py) with many examples.

    python benchmarks/faults.py --quick   # 5 kill points per setting, 100 fuzz examples
    python benchmarks/faults.py           # 20 kill points per setting, 1,000 fuzz examples
"""

import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from common import ROOT, benchmark_parser, write_results
from wasabi import msg

ANSI = re.compile(r"\x1b\[[0-9;]*m")
MODEL = ROOT / "tests" / "fixtures" / "pipeline-0.2.0" / "model"
SHARD_SIZE = 4


def write_input(path: Path, n_records: int = 40, long_from: Optional[int] = None) -> Path:
    """Records of a few words (from ``long_from`` on, long ones), two of them unreadable."""
    lines = []
    for i in range(n_records):
        words = 400 if long_from is not None and i >= long_from else 6
        text = " ".join(f"Anna{i} works in Paris{j} ." for j in range(words // 6))
        lines.append(json.dumps({"id": str(i), "text": text}))
    lines[7] = "{not json"
    lines[21] = json.dumps({"id": "21", "body": "no text"})
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def command(source: Path, output: Path, n_process: int) -> List[str]:
    return [
        sys.executable,
        "-m",
        "spacy_spanbert",
        "annotate",
        str(MODEL),
        str(source),
        str(output),
        "--shard-size",
        str(SHARD_SIZE),
        "--batch-size",
        "2",
        "--n-process",
        str(n_process),
    ]


def tree(folder: Path) -> Dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) by its relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def reference(source: Path, work: Path, n_process: int) -> Dict[str, bytes]:
    output = work / f"reference-{n_process}"
    subprocess.run(["rm", "-rf", str(output)], check=True)
    subprocess.run(command(source, output, n_process), check=True, capture_output=True)
    return tree(output)


def kill_and_rerun(
    source: Path, work: Path, n_process: int, rng: random.Random, expected: Dict[str, bytes]
) -> Dict[str, Any]:
    """SIGKILL a run (its whole process group) once a seeded number of shards is written
    plus a seeded delay, rerun the same command, and compare with ``expected``."""
    output = work / f"killed-{n_process}"
    subprocess.run(["rm", "-rf", str(output)], check=True)
    n_shards = sum(1 for name in expected if name.startswith("shard-"))
    after_shards = rng.randrange(n_shards)
    delay = rng.uniform(0, 0.3)
    process = subprocess.Popen(
        command(source, output, n_process),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while process.poll() is None and len(list(output.glob("shard-*.jsonl"))) < after_shards:
        time.sleep(0.005)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = len(list(output.glob("shard-*.jsonl")))
    rerun = subprocess.run(command(source, output, n_process), capture_output=True, text=True)
    got = tree(output) if rerun.returncode == 0 else {}
    return {
        "after_shards": after_shards,
        "delay_s": round(delay, 3),
        "killed": killed,
        "shards_when_killed": written,
        "rerun_exit": rerun.returncode,
        "identical": got == expected,
        "differences": sorted(set(got) ^ set(expected))
        + sorted(k for k in set(got) & set(expected) if got[k] != expected[k]),
    }


def disk_full(source: Path, work: Path, expected: Dict[str, bytes], limit: int) -> Dict[str, Any]:
    """A run whose files may not grow past ``limit`` bytes must fail in one clear line with
    its finished shards whole; the rerun without the limit must equal ``expected``."""
    output = work / "disk-full"
    subprocess.run(["rm", "-rf", str(output)], check=True)

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = subprocess.run(
        command(source, output, 1), capture_output=True, text=True, preexec_fn=limit_files
    )
    failure = full.stdout.partition("✘")[2]
    partial = tree(output)
    whole = all(
        expected.get(name) == data for name, data in partial.items() if name.startswith("shard-")
    )
    rerun = subprocess.run(command(source, output, 1), capture_output=True, text=True)
    return {
        "exit": full.returncode,
        "message": ANSI.sub("", " ".join(failure.split()).replace(str(ROOT) + "/", ""))
        or full.stderr[-300:],
        "shards_written": sum(1 for name in partial if name.startswith("shard-")),
        "partial_files_left": sorted(name for name in partial if name.endswith(".partial")),
        "written_shards_whole": whole,
        "rerun_identical": rerun.returncode == 0 and tree(output) == expected,
    }


def fuzz(examples: int) -> Dict[str, Any]:
    """Run the readers' fuzz tests with ``examples`` examples per reader and strategy."""
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "test_fuzz_readers.py"),
            "-k",
            "mutated or random",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "FUZZ_EXAMPLES": str(examples)},
        cwd=ROOT,
    )
    failed = [
        line.split("[", 1)[1].split("]", 1)[0]
        for line in result.stdout.splitlines()
        if line.startswith("FAILED")
    ]
    return {
        "examples_per_reader": 2 * examples,
        "strategies": ["mutated valid files", "random bytes"],
        "failures_found": failed,
        "seconds": round(time.perf_counter() - started, 1),
        "pytest_exit": result.returncode,
    }


def main() -> None:
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    n_points, examples = (5, 100) if args.quick else (20, 1000)
    work = ROOT / "benchmarks" / "work" / "faults"
    work.mkdir(parents=True, exist_ok=True)
    source = write_input(work / "input.jsonl")
    rng = random.Random(args.seed)
    engines: Dict[str, Any] = {}
    for n_process in (1, 2):
        expected = reference(source, work, n_process)
        points = []
        for i in range(n_points):
            points.append(kill_and_rerun(source, work, n_process, rng, expected))
            msg.text(f"n_process {n_process}, kill point {i + 1}: {points[-1]}")
        engines[f"local_n_process_{n_process}"] = {
            "kill_points_tried": len(points),
            "kill_points_killed_mid_run": sum(p["killed"] for p in points),
            "kill_points_survived": sum(p["identical"] for p in points),
            "points": points,
        }
    long_source = write_input(work / "input-long.jsonl", long_from=20)
    long_expected = reference(long_source, work, 1)
    engines["local_disk_full"] = disk_full(long_source, work, long_expected, limit=5_000)
    fuzzing = fuzz(examples)
    rows = [
        (name, r["kill_points_tried"], r["kill_points_killed_mid_run"], r["kill_points_survived"])
        for name, r in engines.items()
        if "kill_points_tried" in r
    ]
    msg.table(
        rows, header=("engine", "kill points", "killed mid-run", "rerun identical"), divider=True
    )
    msg.info(f"disk full: {engines['local_disk_full']}")
    msg.info(f"fuzzing: {fuzzing}")
    write_results(
        "faults",
        mode,
        {
            "dataset": "synthetic records (benchmarks/faults.py write_input)",
            "pipeline": "tests/fixtures/pipeline-0.2.0",
            "input": f"40 records (2 unreadable), shard size {SHARD_SIZE}",
            "systems": engines,
            "fuzzing": fuzzing,
        },
    )


if __name__ == "__main__":
    main()
