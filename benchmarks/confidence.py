"""Confidence: test F1 with the global threshold (0.5) against per-label thresholds tuned on
dev, with a paired bootstrap interval, and test ECE before and after calibration, on
CoNLL-2003 (flat entities), GENIA (nested spans) and CoNLL04 (relations).

Tuning is `python -m spacy_spanbert tune`'s own code (a temperature, then a threshold per
label on the calibrated scores; a label with fewer than 10 gold dev examples keeps 0.5). It
sees only dev; test is scored once before and once after. ECE is over what the pipeline
emits (entities, nested spans, relations), each counted right when it matches gold exactly.
CoNLL04 is scored twice: with the relation head's probabilities, and with spanbert_rel's
``entity_scores_key`` set, each relation's score being that times its two entities' scores.

The pipelines come from the training benchmarks, run first; the dev and test sets are the
ones each wrote into its work folder, two levels above the pipeline. Beside each ECE after
calibration, its floor: the ECE a perfectly calibrated model with the same scores would show
on that many outputs.

    python benchmarks/ner_conll2003.py --quick --systems spanbert_ner
    python benchmarks/nested_genia.py --quick --systems spanbert_ner
    python benchmarks/rel_conll04.py --quick
    python benchmarks/confidence.py --quick
    # another pipeline for a data set, e.g. the add-label benchmark's:
    python benchmarks/confidence.py \
        --pipeline conll2003=benchmarks/work/add-label/full/from_scratch/model-last
"""

from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy
import spacy
from common import ROOT, benchmark_parser, evaluate, use_device, write_results
from paired_bootstrap import micro_f1, paired_bootstrap
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.vocab import Vocab
from wasabi import msg

from spacy_spanbert.confidence import expected_calibration_error
from spacy_spanbert.relations import get_relations
from spacy_spanbert.tune import tune

DATASETS = {  # name: (benchmark work folder, pipeline folder, dev split, what is scored)
    "conll2003": ("conll2003", "spanbert_ner", "dev", "ents"),
    "genia": ("genia", "spanbert_ner", "dev", "spans"),
    "conll04": ("conll04", "spanbert_ner+rel", "valid", "relations"),
    "conll04_with_entity_scores": ("conll04", "spanbert_ner+rel", "valid", "relations"),
}
# settings a row loads its pipeline with
LOAD_CONFIG = {
    "conll04_with_entity_scores": {"components.spanbert_rel.entity_scores_key": "sc"},
}


def emitted(doc: Doc, kind: str) -> Dict[tuple, float]:
    """What the pipeline emitted in ``doc`` (or gold put there): key -> score (NaN: none)."""
    if kind == "relations":
        return {
            (
                r.head.start,
                r.head.end,
                r.head.label_,
                r.label,
                r.tail.start,
                r.tail.end,
                r.tail.label_,
            ): (numpy.nan if r.score is None else r.score)
            for r in get_relations(doc)
        }
    group = doc.spans.get("sc", [])
    span_scores = group.attrs.get("scores") if len(group) else None
    scores = {
        (s.start, s.end, s.label_): float(span_scores[i]) if span_scores is not None else numpy.nan
        for i, s in enumerate(group)
    }
    if kind == "spans":
        return scores
    return {
        (e.start, e.end, e.label_): scores.get((e.start, e.end, e.label_), numpy.nan)
        for e in doc.ents
    }


def outcomes(examples: List[Example], kind: str) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Per document (true positives, false positives, false negatives), and each emitted
    output's (score, right) for ECE."""
    counts, scored = [], []
    for eg in examples:
        pred, gold = emitted(eg.predicted, kind), emitted(eg.reference, kind)
        counts.append(
            (
                len(pred.keys() & gold.keys()),
                len(pred.keys() - gold.keys()),
                len(gold.keys() - pred.keys()),
            )
        )
        scored += [(score, key in gold) for key, score in pred.items()]
    return numpy.array(counts).reshape((-1, 3)), numpy.array(scored, dtype="f").reshape((-1, 2))


def ece(scored: numpy.ndarray) -> float:
    known = ~numpy.isnan(scored[:, 0])
    return round(expected_calibration_error(scored[known, 0], scored[known, 1]), 4)


def ece_floor(scored: numpy.ndarray, draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with the same emitted scores would show on this
    many outputs: the mean ECE when each output is right with the probability it is scored.
    An ECE near it can't be told from perfect calibration."""
    scores = scored[~numpy.isnan(scored[:, 0]), 0]
    rng = numpy.random.default_rng(seed)
    errors = [
        expected_calibration_error(scores, rng.random(len(scores)) < scores) for _ in range(draws)
    ]
    return round(float(numpy.mean(errors)), 4) if len(scores) else 0.0


def read_docs(path: Path, vocab: Vocab) -> List[Doc]:
    return list(DocBin().from_disk(path).get_docs(vocab))


def main() -> None:
    parser = benchmark_parser(__doc__, systems=tuple(DATASETS))
    parser.add_argument(
        "--pipeline",
        action="append",
        default=[],
        help="NAME=DIR: use this trained pipeline for data set NAME (conll2003, genia, conll04: "
        "both CoNLL04 rows)",
    )
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    pipelines = {
        name: ROOT / "benchmarks" / "work" / folder / mode / system / "model-last"
        for name, (folder, system, _, _) in DATASETS.items()
        if name in args.systems
    }
    for option in args.pipeline:
        name, _, path = option.partition("=")
        if name not in DATASETS:
            parser.error(
                f"--pipeline {option}: expected NAME=DIR, NAME one of {', '.join(DATASETS)}"
            )
        for row, (folder, *_) in DATASETS.items():
            if name in (row, folder) and row in args.systems:
                pipelines[row] = Path(path).resolve()
    missing = [str(p) for p in pipelines.values() if not p.exists()]
    if missing:
        msg.fail(
            f"No trained pipeline at {', '.join(missing)}",
            "Run the training benchmarks first (see --help).",
            exits=1,
        )
    systems: Dict[str, Any] = {}
    differences: Dict[str, Any] = {}
    for name in pipelines:
        _, _, dev_split, kind = DATASETS[name]
        work = pipelines[name].parent.parent
        nlp = spacy.load(pipelines[name], config=LOAD_CONFIG.get(name, {}))
        dev = read_docs(work / f"{dev_split}.spacy", nlp.vocab)
        test = read_docs(work / "test.spacy", nlp.vocab)
        counts_before, scored_before = outcomes(evaluate(nlp, test)[1], kind)
        reports = tune(nlp, dev)
        counts_after, scored_after = outcomes(evaluate(nlp, test)[1], kind)
        differences[name] = {
            "f1 (tuned - 0.5)": paired_bootstrap(micro_f1, counts_after, counts_before)
        }
        systems[name] = {
            "pipeline": pipelines[name].relative_to(ROOT).as_posix(),
            "scored": kind,
            "f1_global": round(float(micro_f1(counts_before)), 4),
            "f1_tuned": round(float(micro_f1(counts_after)), 4),
            "ece_before": ece(scored_before),
            "ece_after": ece(scored_after),
            "ece_after_floor": ece_floor(scored_after),
            "temperature": {r.name: round(r.temperature, 3) for r in reports},
            "thresholds": {
                r.name: {label: round(after.threshold, 3) for label, (_, after) in r.labels.items()}
                for r in reports
            },
        }
        msg.good(f"{name}: {systems[name]}")
    msg.table(
        [
            (
                name,
                f"{s['f1_global']:.4f}",
                f"{s['f1_tuned']:.4f}",
                "{difference:+.4f} [{ci95_low:+.4f}, {ci95_high:+.4f}]".format(
                    **differences[name]["f1 (tuned - 0.5)"]
                ),
                f"{s['ece_before']:.4f}",
                f"{s['ece_after']:.4f}",
            )
            for name, s in systems.items()
        ],
        header=(
            "data set (test)",
            "F1 at 0.5",
            "F1 tuned",
            "tuned - 0.5 [95% CI]",
            "ECE before",
            "ECE after",
        ),
        divider=True,
    )
    write_results(
        "confidence",
        mode,
        {
            "dataset": ", ".join(sorted({folder for folder, *_ in DATASETS.values()})),
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "systems": systems,
            "differences": differences,
        },
    )


if __name__ == "__main__":
    main()
