"""Continued SpanBERT pretraining on WNUT-17's tweets, then NER: original vs continued encoder.

1. Continue pretraining all-MiniLM-L6-v2 (span masking + SBO) on the WNUT-17 training text,
   labels unused, for a fixed budget; report pretraining tokens/s.
2. Train spanbert_ner (configs/ner.cfg) on WNUT-17 from the original and from the continued
   checkpoint, same steps and seed; print both test F1s side by side.

    python benchmarks/pretrain_wnut17.py --quick   # 100 pretraining steps, 150 NER steps
    python benchmarks/pretrain_wnut17.py           # 1000 pretraining steps, 400 NER steps
"""

from typing import Any, Dict

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    minilm_path,
    save_docbin,
    train,
    training_overrides,
    use_device,
    write_results,
)
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus import read_conll
from spacy_spanbert.pretraining import PretrainingSettings, pretrain

FILES = {
    "train": "wnut17train.conll",
    "dev": "emerging.dev.conll",
    "test": "emerging.test.annotated",
}


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--pretrain-steps", type=int, default=0, help="default: the mode's")
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    pretrain_steps, steps = (100, 150) if args.quick else (1000, 400)
    steps = args.steps or steps
    pretrain_steps = args.pretrain_steps or pretrain_steps
    work = ROOT / "benchmarks" / "work" / "wnut17" / mode
    nlp = spacy.blank("en")
    splits = {
        split: read_conll(SHARED_DATA / "wnut17" / name, nlp.vocab) for split, name in FILES.items()
    }
    for split, docs in splits.items():
        save_docbin(docs, work / f"{split}.spacy")
    texts = [sent.text for doc in splits["train"] for sent in doc.sents]
    settings = PretrainingSettings(
        max_steps=pretrain_steps, batch_size=8, max_length=128, learning_rate=5e-5, seed=args.seed
    )
    summary = pretrain(minilm_path(), texts, work / "continued", settings=settings)
    msg.info(f"pretraining: {summary}")
    config = Config().from_disk(ROOT / "configs" / "ner.cfg", interpolate=False)
    systems: Dict[str, Any] = {}
    for system, encoder in (("original", minilm_path()), ("continued", str(work / "continued"))):
        overrides = {**training_overrides(work, steps, args.seed), "paths.encoder": encoder}
        scores, _ = evaluate(spacy.load(train(config, work / system, overrides)), splits["test"])
        systems[system] = {
            "f1": scores["ents_f"],
            "precision": scores["ents_p"],
            "recall": scores["ents_r"],
        }
    msg.table(
        [
            (name, f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"{s['f1']:.4f}")
            for name, s in systems.items()
        ],
        header=("encoder", "P", "R", "F1"),
        divider=True,
    )
    msg.info(f"pretraining tokens/s: {summary['tokens_per_second']:.0f}")
    write_results(
        "pretrain-wnut17",
        mode,
        {
            "dataset": "wnut17",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "train": {
                "examples": sum(len(list(d.sents)) for d in splits["train"]),
                "steps": steps,
                "seed": args.seed,
            },
            "pretrain_steps": pretrain_steps,
            "pretrain_tokens_per_second": round(summary["tokens_per_second"], 1),
            "systems": systems,
        },
    )


if __name__ == "__main__":
    main()
