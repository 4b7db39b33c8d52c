"""CoNLL04 end to end: spanbert_ner + spanbert_rel (configs/rel.cfg), entity F1 and strict
relation F1 on the test split, predicted entities feeding the relation head, beside SpERT's
published figures (BERT-base cased) for context.

    python benchmarks/rel_conll04.py --quick   # 300 training sentences, 150 steps
    python benchmarks/rel_conll04.py           # full training set (922 sentences), 800 steps
"""

from pathlib import Path
from typing import Dict, List

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    save_docbin,
    train,
    training_overrides,
    use_device,
    write_results,
)
from spacy.tokens import Doc
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus.relations_json import read_relations_json

# Eberts & Ulges 2020 (arXiv:1909.07755), CoNLL04 test, micro F1.
SPERT = {"ents_f1": 0.8894, "rel_f1": 0.7147}


def prepare_conll04(work: Path, n_train: int) -> Dict[str, List[Doc]]:
    """CoNLL04's train (the first ``n_train`` sentences; 0: all), valid and test docs,
    written to ``work``/<split>.spacy."""
    nlp = spacy.blank("en")
    splits = {}
    for split in ("train", "valid", "test"):
        path = SHARED_DATA / "conll04" / "two_are_better" / f"{split}.CoNLL04.json"
        docs = read_relations_json(path, nlp.vocab)
        splits[split] = docs[:n_train] if split == "train" and n_train else docs
        save_docbin(splits[split], work / f"{split}.spacy")
    return splits


def main() -> None:
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, steps = (300, 150) if args.quick else (0, 800)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "conll04" / mode
    splits = prepare_conll04(work, n_train)
    config = Config().from_disk(ROOT / "configs" / "rel.cfg", interpolate=False)
    model_dir = train(
        config,
        work / "spanbert_ner+rel",
        training_overrides(work, steps, args.seed, dev="valid"),
    )
    scores, _ = evaluate(spacy.load(model_dir), splits["test"])
    result = {
        "ents_f1": scores["ents_f"],
        "rel_f1": scores["rel_micro_f"],
        "rel_precision": scores["rel_micro_p"],
        "rel_recall": scores["rel_micro_r"],
        "per_label": {
            k: {"f1": v["f"], "precision": v["p"], "recall": v["r"]}
            for k, v in scores["rel_per_type"].items()
        },
    }
    msg.table(
        [
            (
                "spanbert_ner+rel (all-MiniLM-L6-v2)",
                f"{result['ents_f1']:.4f}",
                f"{result['rel_f1']:.4f}",
            ),
            (
                "SpERT (BERT-base cased, published)",
                f"{SPERT['ents_f1']:.4f}",
                f"{SPERT['rel_f1']:.4f}",
            ),
            (
                "difference (points)",
                f"{100 * (result['ents_f1'] - SPERT['ents_f1']):+.2f}",
                f"{100 * (result['rel_f1'] - SPERT['rel_f1']):+.2f}",
            ),
        ],
        header=("system", "entity F1", "strict relation F1"),
        divider=True,
    )
    write_results(
        "rel-conll04",
        mode,
        {
            "dataset": "conll04",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {"examples": len(splits["train"]), "steps": steps, "seed": args.seed},
            "systems": {"spanbert_ner+rel": result},
            "published": {"SpERT (BERT-base cased)": SPERT},
        },
    )


if __name__ == "__main__":
    main()
