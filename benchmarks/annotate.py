"""Annotating a corpus: documents/s of the local engine (1 and 2 processes) and of Ray Data
(1 and 2 actors) with the same pipeline on the same JSON Lines input, each engine's fixed
start-up cost, and whether the engines' outputs are identical.

Each system runs `python -m spacy_spanbert annotate` in a fresh process, as a user would, once
on the whole input and once on its first 20 documents: the short run's time is the fixed cost
(process start, imports, model load; for Ray also its start-up and actor pool), and the
difference gives the cost per document once running.

    python benchmarks/ner_conll2003.py --quick --systems spanbert_ner  # trains the pipeline
    python benchmarks/annotate.py --quick   # CoNLL-2003 test, one sentence a document (3,453)
    python benchmarks/annotate.py           # CoNLL-2003 train, one sentence a document (14,041)
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import spacy
from common import ROOT, SHARED_DATA, benchmark_parser, write_results
from wasabi import msg

from spacy_spanbert.corpus import read_conll

SYSTEMS = {
    "local_1": ["--engine", "local"],
    "local_2": ["--engine", "local", "--n-process", "2"],
    "ray_1": ["--engine", "ray", "--actors", "1", "--cpus-per-actor", "1.5"],
    "ray_2": ["--engine", "ray", "--actors", "2", "--cpus-per-actor", "0.9"],
}
SHORT = 20


def write_input(data: Path, path: Path, limit: int = 0) -> int:
    """CoNLL-2003 sentences as JSON Lines records (id, text); their count."""
    docs = read_conll(data, spacy.blank("en").vocab, n_sents=1)
    docs = docs[:limit] if limit else docs
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf8") as out:
        for i, doc in enumerate(docs):
            out.write(json.dumps({"id": f"s{i:06d}", "text": doc.text}) + "\n")
    return len(docs)


def run(model: Path, source: Path, output: Path, options: List[str]) -> float:
    """Wall seconds of one `annotate` command in a fresh process."""
    command = [sys.executable, "-m", "spacy_spanbert", "annotate", str(model), str(source)]
    start = time.perf_counter()
    subprocess.run(
        [*command, str(output), "--batch-size", "64", "--shard-size", "1000", *options],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def spans(directory: Path) -> Dict[str, Any]:
    """Each document's (start, end, label) of entities, spans and relations, and its scores."""
    out = {}
    for shard in sorted(directory.glob("shard-*.jsonl")):
        for line in shard.read_text(encoding="utf8").splitlines():
            record = json.loads(line)
            keys = [(s["start"], s["end"], s["label"]) for s in record["spans"]]
            keys += [(e["start"], e["end"], e["label"]) for e in record["entities"]]
            scores = [s["score"] for s in record["spans"] + record["entities"]]
            out[record["id"]] = (keys, scores)
    return out


def identical(a: Path, b: Path) -> bool:
    """Same documents, spans and labels, and scores within 1e-5 (batching)."""
    one, two = spans(a), spans(b)
    if one.keys() != two.keys():
        return False
    return all(
        one[key][0] == two[key][0]
        and all(abs(x - y) <= 1e-5 for x, y in zip(one[key][1], two[key][1]))
        for key in one
    )


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument(
        "--model",
        type=Path,
        default=ROOT / "benchmarks/work/conll2003/quick/spanbert_ner/model-last",
        help="trained pipeline (default: ner_conll2003.py --quick's spanbert_ner)",
    )
    args = parser.parse_args()
    if not args.model.exists():
        msg.fail(
            f"No trained pipeline at {args.model}",
            "Train one: python benchmarks/ner_conll2003.py --quick --systems spanbert_ner",
            exits=1,
        )
    mode = "quick" if args.quick else "full"
    work = ROOT / "benchmarks" / "work" / "annotate" / mode
    data = SHARED_DATA / "conll2003" / "iob2" / ("test.txt" if args.quick else "train.txt")
    n_docs = write_input(data, work / "input.jsonl")
    write_input(data, work / "short.jsonl", SHORT)
    systems: Dict[str, Dict[str, Any]] = {}
    for name, options in SYSTEMS.items():
        shutil.rmtree(work / name, ignore_errors=True)  # else the runs would resume
        fixed = run(args.model, work / "short.jsonl", work / name / "short", options)
        total = run(args.model, work / "input.jsonl", work / name / "out", options)
        per_doc = (total - fixed) / (n_docs - SHORT)
        systems[name] = {
            "docs_per_second": round(n_docs / total, 1),
            "docs_per_second_running": round(1 / per_doc, 1),
            "fixed_seconds": round(fixed, 2),
            "wall_seconds": round(total, 2),
        }
        msg.info(f"{name}: {systems[name]}")
    same = all(identical(work / "local_1" / "out", work / name / "out") for name in SYSTEMS)
    msg.table(
        [
            (
                name,
                f"{s['docs_per_second']:.1f}",
                f"{s['docs_per_second_running']:.1f}",
                f"{s['fixed_seconds']:.1f}",
            )
            for name, s in systems.items()
        ],
        header=("engine", "docs/s (whole run)", "docs/s (running)", "fixed cost (s)"),
        divider=True,
    )
    msg.good(f"Outputs identical to local_1: {same}")
    write_results(
        "annotate",
        mode,
        {
            "dataset": "conll2003",
            "split": "test" if args.quick else "train",
            "documents": n_docs,
            "model": args.model.resolve().relative_to(ROOT).as_posix(),
            "systems": systems,
            "identical_output": same,
        },
    )


if __name__ == "__main__":
    main()
