"""CoNLL04 relations with gold entities (the relation model alone) beside end to end.

Each relation model trained over the reference entities (on every predicted doc, in training
and evaluation) with the same encoder (all-MiniLM-L6-v2), data, steps and seed:

- `spanbert_rel_gold_entities`: RelationModel.v2 on the shared encoder
  (configs/rel_given_entities.cfg);
- `markers_levitated_gold_entities`, `markers_solid_gold_entities`: MarkerRelationModel.v1,
  typed markers, an encoder of its own (configs/rel_given_entities_markers.cfg), one
  sequence per document or one per pair;
- `markers_levitated_untyped_gold_entities`, `markers_levitated_tokens_gold_entities`: the
  same with untyped markers or typed marker tokens (faster);
- `markers_levitated_tokens_3_layers_gold_entities`,
  `markers_packed_tokens_3_layers_gold_entities`: typed marker tokens read by the relation
  encoder's first 3 layers of 6, levitated or packed (one sequence per head entity).

Strict relation P/R/F1 on the test split, overall and per label; the markers' difference to
v2 with a 95% paired bootstrap interval over documents; inference words/s of each pipeline
on the test documents with their entities, in the same run. The end-to-end `rel-conll04`
run (benchmarks/rel_conll04.py's results file) is printed beside them: how much of the
end-to-end score the entity errors cost.

    python benchmarks/rel_conll04_gold_entities.py --quick   # 300 training sentences, 150 steps
    python benchmarks/rel_conll04_gold_entities.py           # 922 sentences, 800 steps
    ... --systems NAME,NAME    # some of the systems; --reuse-trained: after a run that stopped
"""

import json
from typing import Any, Dict

from common import (
    ROOT,
    benchmark_parser,
    best_words_per_second,
    evaluate,
    print_per_label_f1,
    use_device,
    with_entities,
    write_results,
)
from paired_bootstrap import micro_f1, paired_bootstrap, relation_counts
from rel_conll04 import (
    PACKED,
    SOLID,
    THREE_LAYERS,
    TOKENS,
    UNTYPED,
    prepare_conll04,
    trained_pipelines,
)
from wasabi import msg

END_TO_END = "spanbert_ner+rel"
BASELINE = "spanbert_rel_gold_entities"
# system: (config, overrides)
SYSTEMS = {
    BASELINE: ("rel_given_entities.cfg", {}),
    "markers_levitated_gold_entities": ("rel_given_entities_markers.cfg", {}),
    "markers_solid_gold_entities": ("rel_given_entities_markers.cfg", SOLID),
    "markers_levitated_untyped_gold_entities": ("rel_given_entities_markers.cfg", UNTYPED),
    "markers_levitated_tokens_gold_entities": ("rel_given_entities_markers.cfg", TOKENS),
    "markers_levitated_tokens_3_layers_gold_entities": (
        "rel_given_entities_markers.cfg",
        {**TOKENS, **THREE_LAYERS},
    ),
    "markers_packed_tokens_3_layers_gold_entities": (
        "rel_given_entities_markers.cfg",
        {**PACKED, **TOKENS, **THREE_LAYERS},
    ),
}
BATCH_SIZE = 64


def main() -> None:
    args = benchmark_parser(__doc__, systems=tuple(SYSTEMS), reuse=True).parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, steps = (300, 150) if args.quick else (0, 800)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "conll04" / mode
    splits = prepare_conll04(work, n_train)
    systems: Dict[str, Any] = {}
    counts = {}
    pipelines = trained_pipelines(args, SYSTEMS, work, steps)
    for name, nlp in pipelines.items():
        config_name, settings = SYSTEMS[name]
        scores, examples = evaluate(nlp, splits["test"], given_entities=True)
        counts[name] = relation_counts(examples)
        systems[name] = {
            "config": f"configs/{config_name}",
            "overrides": settings,
            "rel_f1": scores["rel_micro_f"],
            "rel_precision": scores["rel_micro_p"],
            "rel_recall": scores["rel_micro_r"],
            "per_label": {
                label: {"f1": s["f"], "precision": s["p"], "recall": s["r"]}
                for label, s in sorted(scores["rel_per_type"].items())
            },
        }
    speed = best_words_per_second(pipelines, splits["test"], BATCH_SIZE, inputs=with_entities)
    for name, words_per_second in speed.items():
        systems[name]["words_per_second"] = words_per_second
    differences = {
        f"{name} - {BASELINE}": {
            "rel_f1": paired_bootstrap(micro_f1, counts[name], counts[BASELINE])
        }
        for name in args.systems
        if name != BASELINE and BASELINE in args.systems
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
            (
                name,
                *(f"{s[k]:.4f}" for k in ("rel_precision", "rel_recall", "rel_f1")),
                f"{s['words_per_second']:.0f}" if "words_per_second" in s else "",
            )
            for name, s in systems.items()
        ],
        header=("system", "P", "R", "F1", "words/s"),
        divider=True,
    )
    for pair, diff in differences.items():
        d = diff["rel_f1"]
        interval = f"{d['ci95_low']:+.4f} .. {d['ci95_high']:+.4f}"
        msg.text(f"{pair}: F1 {d['difference']:+.4f} (95% CI {interval})")
    print_per_label_f1(systems)
    write_results(
        "rel-conll04-gold-entities",
        mode,
        {
            "dataset": "conll04",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {"examples": len(splits["train"]), "steps": steps, "seed": args.seed},
            "speed": {"documents": "test split, entities given", "batch_size": BATCH_SIZE},
            "systems": systems,
            "differences": differences,
            **extra,
        },
    )


if __name__ == "__main__":
    main()
