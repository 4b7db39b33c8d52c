"""CoNLL04 end to end: spanbert_ner + spanbert_rel, entity F1 and strict relation F1 on the
test split, predicted entities feeding the relation head, for each relation model with the
same encoder (all-MiniLM-L6-v2), data, steps and seed:

- `spanbert_ner+rel`: RelationModel.v2 on the shared encoder (configs/rel.cfg);
- `spanbert_ner+rel_markers_levitated`, `spanbert_ner+rel_markers_solid`:
  MarkerRelationModel.v1, typed markers, a relation encoder of its own
  (configs/rel_markers.cfg), one sequence per document or one per pair;
- `spanbert_ner+rel_markers_levitated_untyped`, `spanbert_ner+rel_markers_levitated_tokens`:
  the same with untyped markers or typed marker tokens (4 wordpieces a pair instead of about
  10: faster);
- `spanbert_ner+rel_markers_levitated_tokens_3_layers`: typed marker tokens read by the
  relation encoder's first 3 layers of 6 (`transformer_config = {"num_hidden_layers": 3}`);
- `spanbert_ner+rel_markers_packed_tokens_3_layers`: the same, packed (PL-Marker): one
  sequence per head entity, the head's markers in the text, its tails' levitated.

The markers' difference to v2 with 95% paired bootstrap intervals over documents, inference
words/s of each pipeline in the same run, and SpERT's published figures (BERT-base cased)
for context.

    python benchmarks/rel_conll04.py --quick   # 300 training sentences, 150 steps
    python benchmarks/rel_conll04.py           # full training set (922 sentences), 800 steps
    ... --systems NAME,NAME    # some of the systems; --reuse-trained: after a run that stopped
"""

from argparse import Namespace
from pathlib import Path
from typing import Any, Dict, List, Tuple

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    best_words_per_second,
    evaluate,
    save_docbin,
    trained_or_train,
    training_overrides,
    use_device,
    write_results,
)
from paired_bootstrap import entity_counts, micro_f1, paired_bootstrap, relation_counts
from spacy.language import Language
from spacy.tokens import Doc
from wasabi import msg

from spacy_spanbert.corpus.relations_json import read_relations_json

# Eberts & Ulges 2020 (arXiv:1909.07755), CoNLL04 test, micro F1.
SPERT = {"ents_f1": 0.8894, "rel_f1": 0.7147}
BASELINE = "spanbert_ner+rel"
SOLID = {"components.spanbert_rel.model.passes": "solid"}
PACKED = {"components.spanbert_rel.model.passes": "packed"}
UNTYPED = {"components.spanbert_rel.model.markers": "untyped"}
TOKENS = {"components.spanbert_rel.model.markers": "typed_tokens"}
# the relation encoder's first 3 of its 6 layers
THREE_LAYERS = {"components.spanbert_rel.model.transformer_config": '{"num_hidden_layers": 3}'}
# system: (config, overrides)
SYSTEMS = {
    BASELINE: ("rel.cfg", {}),
    "spanbert_ner+rel_markers_levitated": ("rel_markers.cfg", {}),
    "spanbert_ner+rel_markers_solid": ("rel_markers.cfg", SOLID),
    "spanbert_ner+rel_markers_levitated_untyped": ("rel_markers.cfg", UNTYPED),
    "spanbert_ner+rel_markers_levitated_tokens": ("rel_markers.cfg", TOKENS),
    "spanbert_ner+rel_markers_levitated_tokens_3_layers": (
        "rel_markers.cfg",
        {**TOKENS, **THREE_LAYERS},
    ),
    "spanbert_ner+rel_markers_packed_tokens_3_layers": (
        "rel_markers.cfg",
        {**PACKED, **TOKENS, **THREE_LAYERS},
    ),
}
BATCH_SIZE = 64


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


def trained_pipelines(
    args: Namespace, systems: Dict[str, Tuple[str, Dict[str, Any]]], work: Path, steps: int
) -> Dict[str, Language]:
    """The chosen systems (``args.systems``; name: (config in configs/, overrides)) trained
    on ``work``'s CoNLL04 splits for ``steps`` (or reused with ``args.reuse_trained``),
    loaded."""
    pipelines = {}
    for name in args.systems:
        config_name, settings = systems[name]
        overrides = {**training_overrides(work, steps, args.seed, dev="valid"), **settings}
        config_file = ROOT / "configs" / config_name
        model_dir = trained_or_train(config_file, work / name, overrides, args.reuse_trained)
        pipelines[name] = spacy.load(model_dir)
    return pipelines


def main() -> None:
    args = benchmark_parser(__doc__, systems=tuple(SYSTEMS), reuse=True).parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, steps = (300, 150) if args.quick else (0, 800)
    steps = args.steps or steps
    work = ROOT / "benchmarks" / "work" / "conll04" / mode
    splits = prepare_conll04(work, n_train)
    systems: Dict[str, Any] = {}
    counts: Dict[str, Dict[str, Any]] = {}
    pipelines = trained_pipelines(args, SYSTEMS, work, steps)
    for name, nlp in pipelines.items():
        config_name, settings = SYSTEMS[name]
        scores, examples = evaluate(nlp, splits["test"])
        counts[name] = {"ents": entity_counts(examples), "rel": relation_counts(examples)}
        systems[name] = {
            "config": f"configs/{config_name}",
            "overrides": settings,
            "ents_f1": scores["ents_f"],
            "rel_f1": scores["rel_micro_f"],
            "rel_precision": scores["rel_micro_p"],
            "rel_recall": scores["rel_micro_r"],
            "per_label": {
                k: {"f1": v["f"], "precision": v["p"], "recall": v["r"]}
                for k, v in scores["rel_per_type"].items()
            },
        }
    speed = best_words_per_second(pipelines, splits["test"], BATCH_SIZE)
    for name, words_per_second in speed.items():
        systems[name]["words_per_second"] = words_per_second
        if BASELINE in speed:
            systems[name]["speed_vs_v2"] = round(words_per_second / speed[BASELINE], 3)
    differences = {
        f"{name} - {BASELINE}": {
            key + "_f1": paired_bootstrap(micro_f1, counts[name][key], counts[BASELINE][key])
            for key in ("ents", "rel")
        }
        for name in args.systems
        if name != BASELINE and BASELINE in args.systems
    }
    msg.table(
        [
            (
                name,
                f"{s['ents_f1']:.4f}",
                f"{s['rel_f1']:.4f}",
                f"{s['words_per_second']:.0f}",
                f"{s['speed_vs_v2']:.2f}x" if "speed_vs_v2" in s else "",
            )
            for name, s in systems.items()
        ]
        + [
            (
                "SpERT (BERT-base cased, published)",
                f"{SPERT['ents_f1']:.4f}",
                f"{SPERT['rel_f1']:.4f}",
                "",
                "",
            )
        ],
        header=("system", "entity F1", "strict relation F1", "words/s", "speed vs v2"),
        divider=True,
    )
    for pair, diff in differences.items():
        d = diff["rel_f1"]
        interval = f"{d['ci95_low']:+.4f} .. {d['ci95_high']:+.4f}"
        msg.text(f"{pair}: relation F1 {d['difference']:+.4f} (95% CI {interval})")
    write_results(
        "rel-conll04",
        mode,
        {
            "dataset": "conll04",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {"examples": len(splits["train"]), "steps": steps, "seed": args.seed},
            "speed": {"documents": "test split, words only", "batch_size": BATCH_SIZE},
            "systems": systems,
            "differences": differences,
            "published": {"SpERT (BERT-base cased)": SPERT},
        },
    )


if __name__ == "__main__":
    main()
