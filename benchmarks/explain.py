"""Are the explanations faithful? ERASER's measures (DeYoung et al. 2020) for each method on
CoNLL-2003 test entities and CoNLL04 test relations (gold targets, a seeded sample):

- comprehensiveness: the drop in the target's probability when the top k% of the words (by
  attribution) are replaced by the tokenizer's mask token;
- sufficiency: the drop when only those words are kept (every other word masked);

each as AOPC, the mean over k = 5, 10, 20, 50%. The target's own words are never removed
(for a relation the pair would vanish; for an entity the question is which context words
matter) and are not counted in k. Methods: integrated gradients, gradient x input,
occlusion, the last layer's attention from the target's wordpieces (heads averaged), and
random scores. Differences to random are 95% paired bootstrap intervals over targets.

    python benchmarks/explain.py --quick   # 40 entities, 40 relations
    python benchmarks/explain.py           # 300 entities, 300 relations
    python benchmarks/explain.py --pipeline conll2003=DIR --pipeline conll04=DIR
    python benchmarks/explain.py --picture DIR   # docs/images/explain.png from a NER pipeline
"""

import math
import random
import resource
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy
import spacy
import torch
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    save_docbin,
    train,
    training_overrides,
    write_results,
)
from paired_bootstrap import accuracy, paired_bootstrap
from rel_conll04 import prepare_conll04
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import Config
from tqdm import tqdm
from wasabi import msg

from spacy_spanbert import RelationTarget, SpanTarget, explain, get_relations
from spacy_spanbert.corpus import read_conll
from spacy_spanbert.explain import Probability, Target, probability_without, target_tokens

KS = (0.05, 0.10, 0.20, 0.50)
METHODS = ("integrated_gradients", "gradient_x_input", "occlusion", "attention", "random")


def conll2003_pipeline(work: Path, seed: int) -> Path:
    """spanbert_ner (configs/ner.cfg) on 2,000 CoNLL-2003 training sentences, 120 steps:
    ner_conll2003.py --quick's settings."""
    vocab = spacy.blank("en").vocab
    data = SHARED_DATA / "conll2003" / "iob2"
    save_docbin(read_conll(data / "train.txt", vocab, n_sents=10)[:200], work / "train.spacy")
    save_docbin(read_conll(data / "valid.txt", vocab, n_sents=10)[:50], work / "dev.spacy")
    config = Config().from_disk(ROOT / "configs" / "ner.cfg", interpolate=False)
    return train(config, work / "spanbert_ner", training_overrides(work, 120, seed))


def conll04_pipeline(work: Path, seed: int) -> Path:
    """spanbert_ner + spanbert_rel (configs/rel.cfg): rel_conll04.py --quick's settings."""
    prepare_conll04(work, 300)
    config = Config().from_disk(ROOT / "configs" / "rel.cfg", interpolate=False)
    return train(
        config, work / "spanbert_ner+rel", training_overrides(work, 150, seed, dev="valid")
    )


def entity_targets(nlp: Language, n: int, rng: random.Random) -> List[Tuple[Doc, Target]]:
    vocab = spacy.blank("en").vocab
    gold = read_conll(SHARED_DATA / "conll2003" / "iob2" / "test.txt", vocab, n_sents=1)
    pool = [(doc, ent) for doc in gold for ent in doc.ents if len(doc) >= 4]
    chosen = rng.sample(pool, n)
    return [(nlp(doc.text), SpanTarget(ent.start, ent.end, ent.label_)) for doc, ent in chosen]


def relation_targets(nlp: Language, n: int, rng: random.Random) -> List[Tuple[Doc, Target]]:
    from spacy_spanbert.corpus.relations_json import read_relations_json

    vocab = spacy.blank("en").vocab
    path = SHARED_DATA / "conll04" / "two_are_better" / "test.CoNLL04.json"
    pool = [(doc, rel) for doc in read_relations_json(path, vocab) for rel in get_relations(doc)]
    chosen = rng.sample(pool, min(n, len(pool)))
    targets: List[Tuple[Doc, Target]] = []
    for gold, rel in chosen:
        doc = nlp(
            Doc(nlp.vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold])
        )
        head = doc[rel.head.start : rel.head.end]
        tail = doc[rel.tail.start : rel.tail.end]
        head.label_, tail.label_ = rel.head.label_, rel.tail.label_
        targets.append((doc, RelationTarget(head, rel.label, tail)))
    return targets


def attention_scores(nlp: Language, doc: Doc, target: Target) -> numpy.ndarray:
    """The last layer's attention (heads averaged) from the target's wordpieces to each
    word's wordpieces, summed."""
    with Probability(nlp, doc, target, None) as probability, torch.no_grad():
        attentions = (
            probability.encoder(
                input_ids=probability.input_ids,
                attention_mask=probability.attention_mask,
                output_attentions=True,
            )
            .attentions[-1]
            .mean(dim=1)
        )  # (windows, L, L)
        own = probability.wordpiece_mask(list(target_tokens(target)))
        from_target = (attentions * own[:, :, None]).sum(dim=1).reshape(-1).numpy()
        return numpy.array(
            [
                float(
                    from_target[numpy.asarray(probability.trf_data.align[i].dataXd).ravel()].sum()
                )
                for i in range(len(doc))
            ]
        )


def aopc(
    nlp: Language, doc: Doc, target: Target, scores: numpy.ndarray, full: float
) -> Tuple[float, float]:
    """(comprehensiveness, sufficiency) AOPC of one ranking of the words."""
    own = set(target_tokens(target))
    candidates = [i for i in range(len(doc)) if i not in own and doc[i].text.strip()]
    ranked = sorted(candidates, key=lambda i: -scores[i])
    comprehensiveness, sufficiency = [], []
    for k in KS:
        top = ranked[: max(1, math.ceil(k * len(ranked)))]
        rest = [i for i in candidates if i not in top]
        comprehensiveness.append(full - probability_without(nlp, doc, target, top))
        sufficiency.append(full - probability_without(nlp, doc, target, rest))
    return float(numpy.mean(comprehensiveness)), float(numpy.mean(sufficiency))


def run(
    nlp: Language, targets: List[Tuple[Doc, Target]], seed: int
) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, numpy.ndarray]]:
    rng = numpy.random.default_rng(seed)
    records: Dict[str, List[Tuple[float, float, float]]] = {m: [] for m in METHODS}
    attributions: Dict[str, Callable[[Doc, Target], numpy.ndarray]] = {
        "attention": lambda doc, target: attention_scores(nlp, doc, target),
        "random": lambda doc, target: rng.random(len(doc)),
    }
    for doc, target in tqdm(targets, desc="Explaining", unit="target"):
        full = None
        for method in METHODS:
            start = time.perf_counter()
            if method in attributions:
                scores = attributions[method](doc, target)
            else:
                explained = explain(nlp, doc, target, method=method)
                scores, full = explained.attributions, explained.probability
            seconds = time.perf_counter() - start
            assert full is not None
            records[method].append((*aopc(nlp, doc, target, scores, full), seconds))
    systems = {}
    comprehensiveness = {}
    for method, rows in records.items():
        values = numpy.array(rows)
        systems[method] = {
            "comprehensiveness_aopc": round(float(values[:, 0].mean()), 4),
            "sufficiency_aopc": round(float(values[:, 1].mean()), 4),
            "seconds_per_explanation": round(float(values[:, 2].mean()), 4),
        }
        comprehensiveness[method] = values[:, 0]
    return systems, comprehensiveness


PICTURE_TEXT = "Jordan scored 30 points for Chicago in Boston on Friday ."


def picture(model: Path, image: Path) -> None:
    """Integrated gradients for "Jordan" as PER and as LOC, drawn as word heatmaps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nlp = spacy.load(model)
    doc = nlp(PICTURE_TEXT)
    rows = [explain(nlp, doc, SpanTarget(0, 1, label)) for label in ("PER", "LOC")]
    figure, axes = plt.subplots(len(rows), 1, figsize=(9, 1.3 * len(rows)))
    for ax, explained in zip(axes, rows):
        scale = float(numpy.abs(explained.attributions).max()) or 1.0
        x = 0.01
        for token, score in zip(doc, explained.attributions):
            alpha = min(abs(float(score)) / scale, 1.0)
            color = (0.12, 0.39, 0.86, alpha) if score >= 0 else (0.86, 0.2, 0.2, alpha)
            edge = "black" if token.i == 0 else "none"
            text = ax.text(
                x,
                0.45,
                token.text,
                fontsize=12,
                va="center",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": color, "edgecolor": edge},
            )
            figure.canvas.draw()
            box = text.get_window_extent().transformed(ax.transAxes.inverted())
            x = box.x1 + 0.015
        label = explained.target.label  # type: ignore[union-attr]
        ax.set_title(
            f'"Jordan" as {label}: probability {explained.probability:.3f}', fontsize=10, loc="left"
        )
        ax.axis("off")
    figure.tight_layout()
    image.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(image, dpi=110)
    msg.good(f"Wrote {image}")


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--pipeline", action="append", default=[], help="DATASET=DIR")
    parser.add_argument("--picture", type=Path, help="draw docs/images/explain.png with it")
    args = parser.parse_args()
    if args.picture:
        picture(args.picture, ROOT / "docs" / "images" / "explain.png")
        return
    mode = "quick" if args.quick else "full"
    n = 40 if args.quick else 300
    work = ROOT / "benchmarks" / "work" / "explain"
    given = dict(item.split("=", 1) for item in args.pipeline)
    pipelines = {
        "conll2003": Path(given["conll2003"])
        if "conll2003" in given
        else conll2003_pipeline(work / "conll2003", args.seed),
        "conll04": Path(given["conll04"])
        if "conll04" in given
        else conll04_pipeline(work / "conll04", args.seed),
    }
    systems: Dict[str, Any] = {}
    differences: Dict[str, Any] = {}
    for dataset, path in pipelines.items():
        nlp = spacy.load(path)
        rng = random.Random(args.seed)
        make = entity_targets if dataset == "conll2003" else relation_targets
        targets = make(nlp, n, rng)
        msg.info(f"{dataset}: {len(targets)} targets")
        results, comprehensiveness = run(nlp, targets, args.seed)
        for method, result in results.items():
            systems[f"{dataset}_{method}"] = result
            msg.text(f"{dataset} {method}: {result}")
        for method in METHODS[:-1]:
            differences[f"{dataset}: {method} - random"] = {
                "comprehensiveness_aopc": paired_bootstrap(
                    accuracy, comprehensiveness[method], comprehensiveness["random"]
                )
            }
    write_results(
        "explain",
        mode,
        {
            "dataset": "conll2003 (entities), conll04 (relations)",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "targets_per_dataset": n,
            "pipelines": {
                k: str(v.relative_to(ROOT)) if v.is_relative_to(ROOT) else str(v)
                for k, v in pipelines.items()
            },
            "removal": "words replaced by the tokenizer's mask token; the target's own words kept",
            "k": list(KS),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "systems": systems,
            "differences": differences,
        },
    )


if __name__ == "__main__":
    main()
