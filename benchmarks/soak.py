"""Soak: does `annotate` hold its memory flat over a long run? The pipeline fixture of the
tests (tests/fixtures/pipeline-0.2.0: tiny encoder + spanbert_ner + spanbert_rel +
spanbert_textcat; what grows is the vocabulary and host-side state, not the encoder)
annotates short synthetic order lines full of unique strings (ids, e-mail addresses, dates,
amounts), once as shipped (a memory zone per shard, the vocabulary's tables compacted after
each) and once with the zones switched off, each in a fresh process. RSS is read each time
a shard is finished.

    python benchmarks/soak.py --quick   # 100,000 documents per run
    python benchmarks/soak.py           # 1,000,000 documents per run
    python benchmarks/soak.py --plot    # benchmarks/images/soak-rss.png from the results file
"""

import contextlib
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

from common import ROOT, benchmark_parser, write_results
from wasabi import msg

MODEL = ROOT / "tests" / "fixtures" / "pipeline-0.2.0" / "model"
SHARD_SIZE = 10_000


def write_orders(path: Path, n_docs: int) -> None:
    """Short order lines, each with several strings no other line has."""
    with path.open("w", encoding="utf8") as out:
        for i in range(n_docs):
            text = (
                f"Order ORD-{i:08d}-{(i * 7919) % 99991:05d} by cust{i * 31 % 1000003}@"
                f"shop{i % 9973}.example.com on 2026-{i % 12 + 1:02d}-{i % 28 + 1:02d} "
                f"for EUR {i % 10007}.{i % 97:02d} , ref {hex(i * 2654435761 % 2**32)}"
            )
            out.write(json.dumps({"id": str(i), "text": text}) + "\n")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(source: str, output: str, zones: bool) -> None:
    """One annotate run in this process, RSS sampled as each shard appears; prints JSON."""
    import spacy

    from spacy_spanbert import memory
    from spacy_spanbert.annotate import annotate

    nlp = spacy.load(MODEL)
    if not zones:
        nlp.memory_zone = lambda *args, **kwargs: contextlib.nullcontext()  # type: ignore
        memory.compact_vocab = lambda vocab: None  # nothing to compact without zones
    samples: List[List[float]] = [[0, rss_mb()]]
    done = threading.Event()

    def watch() -> None:
        seen = 0
        while not done.is_set():
            finished = len(list(Path(output).glob("shard-*.jsonl")))
            if finished > seen:
                seen = finished
                samples.append([finished * SHARD_SIZE, rss_mb()])
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    summary = annotate(nlp, source, output, shard_size=SHARD_SIZE, batch_size=256)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    samples.append([summary.documents, rss_mb()])
    result = {
        "documents": summary.documents,
        "seconds": seconds,
        "strings": len(nlp.vocab.strings),
        "rss_mb": samples,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print("RESULT " + json.dumps(result))


def growth_after_warmup(samples: List[List[float]], warmup: float) -> float:
    """RSS at the end over RSS at the first sample past ``warmup`` of the documents, - 1."""
    total = samples[-1][0]
    base = next(mb for docs, mb in samples if docs >= warmup * total)
    return samples[-1][1] / base - 1


def plot(results: Path, image: Path) -> None:
    """RSS against documents annotated, with and without memory zones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = json.loads(results.read_text())
    figure, axes = plt.subplots(figsize=(7, 3.6))
    for name, system in result["systems"].items():
        docs, mb = zip(*system["rss_mb"])
        axes.plot([d / 1e6 for d in docs], mb, label=name.replace("_", " "))
    axes.set_xlabel("documents annotated (millions)")
    axes.set_ylabel("resident memory (MB)")
    axes.set_title(f"annotate, {result['pipeline'].split(' (')[0]}, {result['date']}")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    image.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(image, dpi=110)
    msg.good(f"Wrote {image.relative_to(ROOT)}")


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--run", nargs=3, help=argparse_hidden())
    parser.add_argument("--plot", action="store_true", help="plot the results file's RSS")
    args = parser.parse_args()
    if args.plot:
        plot(
            ROOT / "benchmarks" / "results" / "soak.json",
            ROOT / "benchmarks" / "images" / "soak-rss.png",
        )
        return
    if args.run:
        run(args.run[0], args.run[1], args.run[2] == "zones")
        return
    mode = "quick" if args.quick else "full"
    n_docs = 100_000 if args.quick else 1_000_000
    work = ROOT / "benchmarks" / "work" / "soak" / mode
    work.mkdir(parents=True, exist_ok=True)
    source = work / "orders.jsonl"
    if not source.exists() or sum(1 for _ in source.open()) != n_docs:
        write_orders(source, n_docs)
    systems: Dict[str, Any] = {}
    for name in ("memory_zones", "no_memory_zones"):
        output = work / name
        subprocess.run(["rm", "-rf", str(output)], check=True)
        msg.info(f"{name}: annotating {n_docs} documents")
        process = subprocess.run(
            [
                sys.executable,
                __file__,
                "--run",
                str(source),
                str(output),
                "zones" if name == "memory_zones" else "off",
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT / "benchmarks",
        )
        line = next(x for x in process.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line[len("RESULT ") :])
        result["rss_growth_after_warmup"] = growth_after_warmup(result["rss_mb"], 0.1)
        systems[name] = result
        subprocess.run(["rm", "-rf", str(output)], check=True)
    msg.table(
        [
            (
                name,
                r["documents"],
                f"{r['rss_mb'][1][1]:.0f}",
                f"{r['rss_mb'][-1][1]:.0f}",
                f"{100 * r['rss_growth_after_warmup']:+.1f}%",
                r["strings"],
                f"{r['documents'] / r['seconds']:.0f}",
            )
            for name, r in systems.items()
        ],
        header=(
            "run",
            "documents",
            "RSS after 1st shard MB",
            "RSS at end MB",
            "growth after 10%",
            "strings at end",
            "docs/s",
        ),
        divider=True,
    )
    write_results(
        "soak",
        mode,
        {
            "dataset": "synthetic order lines (benchmarks/soak.py write_orders)",
            "pipeline": "tests/fixtures/pipeline-0.2.0 (tiny encoder + spanbert_ner + "
            "spanbert_rel + spanbert_textcat)",
            "documents": n_docs,
            "shard_size": SHARD_SIZE,
            "engine": "local, n_process 1",
            "systems": systems,
            "rss_growth_after_warmup": systems["memory_zones"]["rss_growth_after_warmup"],
        },
    )


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
