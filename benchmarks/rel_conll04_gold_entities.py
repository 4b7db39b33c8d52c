"""CoNLL04 relations with gold entities (the relation model alone) beside end to end.

`spanbert_rel` trained on configs/rel_given_entities.cfg (the reference entities on every
predicted doc, in training and evaluation) with the same encoder (all-MiniLM-L6-v2), data,
steps and seed as the end-to-end `rel-conll04` run (configs/rel.cfg, whose relation head reads
the entities spanbert_ner predicts), printed side by side with that run's results file
(benchmarks/rel_conll04.py writes it). Strict relation P/R/F1, overall and per label: how much
of the end-to-end score the entity errors cost.

    python benchmarks/rel_conll04_gold_entities.py --quick   # 300 training sentences, 150 steps
    python benchmarks/rel_conll04_gold_entities.py           # 922 sentences, 800 steps
"""

import json
from typing import Any, Dict

import spacy
from common import (
    ROOT,
    benchmark_parser,
    evaluate,
    print_per_label_f1,
    train,
    training_overrides,
    use_device,
    write_results,
)
from rel_conll04 import prepare_conll04
from thinc.api import Config
from wasabi import msg

END_TO_END = "spanbert_ner+rel"


def main() -> None:
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, steps = (300, 150) if args.quick else (0, 800)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "conll04" / mode
    splits = prepare_conll04(work, n_train)
    config = Config().from_disk(ROOT / "configs" / "rel_given_entities.cfg", interpolate=False)
    overrides = training_overrides(work, steps, args.seed, dev="valid")
    model_dir = train(config, work / "spanbert_rel_gold_entities", overrides)
    scores, _ = evaluate(spacy.load(model_dir), splits["test"], given_entities=True)
    systems: Dict[str, Any] = {
        "spanbert_rel_gold_entities": {
            "rel_f1": scores["rel_micro_f"],
            "rel_precision": scores["rel_micro_p"],
            "rel_recall": scores["rel_micro_r"],
            "per_label": {
                label: {"f1": s["f"], "precision": s["p"], "recall": s["r"]}
                for label, s in sorted(scores["rel_per_type"].items())
            },
        }
    }
    suffix = "" if mode == "full" else "-quick"
    end_to_end_file = ROOT / "benchmarks" / "results" / f"rel-conll04{suffix}.json"
    end_to_end = json.loads(end_to_end_file.read_text()) if end_to_end_file.exists() else None
    extra: Dict[str, Any] = {}
    if end_to_end and end_to_end["train"]["steps"] == steps:
        systems[END_TO_END] = end_to_end["systems"][END_TO_END]
        extra["end_to_end_from"] = {"file": end_to_end_file.name, "date": end_to_end["date"]}
        msg.info(
            f"{END_TO_END}: from {end_to_end_file.name} ({end_to_end['date']}, "
            f"{end_to_end['machine']}, `{end_to_end['command']}`)"
        )
    msg.table(
        [
            (name, *(f"{s[k]:.4f}" for k in ("rel_precision", "rel_recall", "rel_f1")))
            for name, s in systems.items()
        ],
        header=("system", "P", "R", "F1"),
        divider=True,
    )
    print_per_label_f1(systems)
    write_results(
        "rel-conll04-gold-entities",
        mode,
        {
            "dataset": "conll04",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {"examples": len(splits["train"]), "steps": steps, "seed": args.seed},
            "systems": systems,
            **extra,
        },
    )


if __name__ == "__main__":
    main()
