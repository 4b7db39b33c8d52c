"""CoNLL-2003: a label added to a trained spanbert_ner against all labels from scratch.

(a) ``without_misc``: configs/ner.cfg trained on CoNLL-2003 with every MISC entity removed;
(b) ``added_label``: (a)'s transformer and spanbert_ner sourced into configs/ner.cfg (spaCy's
    ``source``) and trained on with the full data for the same number of steps: MISC arrives
    through the data and the output layer grows;
(c) ``from_scratch``: configs/ner.cfg trained on the full data for the same number of steps.
Same encoder (all-MiniLM-L6-v2), data, steps and seed. Prints test F1 per label for (b) and
(c), and how much the old labels moved from (a) to (b) (the forgetting).

    python benchmarks/add_label_conll2003.py --quick   # 2,000 training sentences, 120 steps a stage
    python benchmarks/add_label_conll2003.py           # full training set, 450 steps a stage
"""

from pathlib import Path
from typing import Any, Dict

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    prf,
    save_docbin,
    train,
    training_overrides,
    use_device,
    write_results,
)
from ner_conll2003 import prepare_conll2003
from thinc.api import Config
from wasabi import msg

NEW_LABEL = "MISC"


def main() -> None:
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (2000, 500, 120) if args.quick else (0, 1000, 450)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "add-label" / mode
    splits = prepare_conll2003(SHARED_DATA / "conll2003" / "iob2", work, n_train, n_dev)
    old_work = work / "without-misc"
    for split in ("train", "dev"):
        docs = [doc.copy() for doc in splits[split]]
        for doc in docs:
            doc.ents = [ent for ent in doc.ents if ent.label_ != NEW_LABEL]
            doc.spans["sc"] = list(doc.ents)
        save_docbin(docs, old_work / f"{split}.spacy")
    base = Config().from_disk(ROOT / "configs" / "ner.cfg", interpolate=False)
    models: Dict[str, Path] = {}
    models["without_misc"] = train(
        base, work / "without_misc", training_overrides(old_work, steps, args.seed)
    )
    sourced = base.copy()
    for component in ("transformer", "spanbert_ner"):
        sourced["components"][component] = {"source": str(models["without_misc"])}
    overrides = training_overrides(work, steps, args.seed)
    models["added_label"] = train(sourced, work / "added_label", overrides)
    models["from_scratch"] = train(base, work / "from_scratch", overrides)
    systems: Dict[str, Any] = {}
    for name, model_dir in models.items():
        scores, _ = evaluate(spacy.load(model_dir), splits["test"])
        systems[name] = prf(scores, "ents")
        msg.good(f"{name}: test F1 {systems[name]['f1']:.4f}")
    labels = sorted(systems["from_scratch"]["per_label"])
    change = {
        label: round(
            100
            * (
                systems["added_label"]["per_label"][label]["f1"]
                - systems["without_misc"]["per_label"][label]["f1"]
            ),
            2,
        )
        for label in labels
        if label != NEW_LABEL
    }
    msg.table(
        [
            (
                label,
                *(f"{systems[n]['per_label'].get(label, {}).get('f1', 0.0):.4f}" for n in systems),
                f"{change[label]:+.2f}" if label in change else "",
            )
            for label in labels
        ],
        header=("F1 per label", *systems, "old label moved (points)"),
        divider=True,
    )
    write_results(
        "add-label",
        mode,
        {
            "dataset": "conll2003",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {
                "examples": sum(len(list(d.sents)) for d in splits["train"]),
                "steps": steps,
                "seed": args.seed,
            },
            "new_label": NEW_LABEL,
            "systems": systems,
            "old_labels_f1_change": change,
        },
    )


if __name__ == "__main__":
    main()
