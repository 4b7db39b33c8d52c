"""Inference cost of spanbert_ner next to its encoder's, on CoNLL-2003 test.

With the CoNLL-2003 pipelines of benchmarks/ner_conll2003.py (run it first), prints side by
side in one run:
1. each piece's time per word with the encoder's output already computed: our suggester
   against spaCy's n-gram suggester, the head's arithmetic (token pooling, span encoder,
   scorer) against the encoder, decoding (thresholds, flat non-overlap) and annotation
   (``Span`` objects, ``doc.spans``, ``doc.ents``) against spaCy's floor for writing the same
   spans; on one-sentence docs and on the benchmark's 10-sentence docs; best of 3 passes;
2. words/s of the whole pipeline, the bare encoder and spaCy's ``ner`` (batch 32, each
   batch's best of 5 round-robin passes over half of test), in fp32 and with
   ``quantize = "int8"``;
3. spanbert_ner's test F1 in fp32 and int8 (and int8 as CPUs without AVX-512 VNNI run it),
   and peak memory of one 20,000-word document.
spaCy's ``ner`` is timed only (its accuracy is ner_conll2003.py's subject).

    python benchmarks/ner_conll2003.py --quick --systems spanbert_ner,spacy_ner
    python benchmarks/inference_speed.py --quick   # the quick pipelines
    python benchmarks/inference_speed.py --model DIR --spacy-ner DIR  # any trained on CoNLL-2003
"""

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, cast
from unittest.mock import patch

import numpy
import spacy
from common import (
    ROOT,
    benchmark_parser,
    best_words_per_second,
    evaluate,
    peak_memory_mb,
    prf,
    use_device,
    words_only,
    write_results,
)
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span, SpanGroup
from spacy.util import registry
from spacy_transformers import Transformer
from thinc.api import NumpyOps
from wasabi import msg

from spacy_spanbert import quantization
from spacy_spanbert.confidence import scaled_softmax
from spacy_spanbert.decoding import DecodedBatch, decode_batch
from spacy_spanbert.pipeline.span_ner import SpanNER

BATCH_SIZE = 32
ROUNDS = 5  # the head is ~3% of the encoder: fewer passes leave more noise than that
INT8 = {"components.transformer.model.quantize": "int8"}


def best_seconds(run: Callable[[], Any], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def piece_times(nlp: Language, docs: Sequence[Doc]) -> Dict[str, float]:
    """µs per word of each piece of spanbert_ner, the encoder's output computed beforehand."""
    trf = cast(Transformer, nlp.get_pipe("transformer"))
    ner = cast(SpanNER, nlp.get_pipe("spanbert_ner"))
    n_words = sum(len(d) for d in docs)
    batches = [
        list(
            trf.pipe([words_only(nlp, d) for d in docs[i : i + BATCH_SIZE]], batch_size=BATCH_SIZE)
        )
        for i in range(0, len(docs), BATCH_SIZE)
    ]
    encoder = best_seconds(
        lambda: [
            list(trf.pipe([words_only(nlp, d) for d in b], batch_size=BATCH_SIZE)) for b in batches
        ],
        1,
    )
    suggester_cfg = nlp.get_pipe_config("spanbert_ner")["suggester"]
    spacy_suggester = registry.misc.get("spacy.ngram_range_suggester.v1")(
        suggester_cfg["min_size"], suggester_cfg["max_size"]
    )
    candidates = [ner._suggest(b) for b in batches]
    scores = [ner.model.predict((b, c)) for b, c in zip(batches, candidates)]
    thresholds = ner.label_thresholds()
    temperature = float(ner.cfg["temperature"])

    def decode() -> List[DecodedBatch]:
        decoded = []
        for c, s in zip(candidates, scores):
            probs = scaled_softmax(numpy.asarray(s), temperature)
            bounds, lengths = numpy.asarray(c.dataXd), numpy.asarray(c.lengths)
            decoded.append(decode_batch(bounds, probs, lengths, thresholds))
        return decoded

    decoded = decode()
    label_ids = [nlp.vocab.strings.add(label) for label in ner.labels]

    # what each doc gets written, as Python values, so the floor times spaCy's objects only
    plans = []
    for batch, (kept, offsets, flat, flat_offsets) in zip(batches, decoded):
        rows = list(zip(kept.starts.tolist(), kept.ends.tolist(), kept.labels.tolist()))
        for i, doc in enumerate(batch):
            first, last = offsets[i], offsets[i + 1]
            ents = [j - first for j in flat[flat_offsets[i] : flat_offsets[i + 1]].tolist()]
            plans.append((doc, rows[first:last], ents, kept.scores[first:last]))

    def spacy_floor() -> None:
        """The least spaCy code that writes the same spans: Span objects, a SpanGroup with
        their scores in doc.spans (as spaCy's spancat writes it), and the entities
        (``Doc.set_ents``, where the ``doc.ents`` setter ends)."""
        for doc, rows, ents, span_scores in plans:
            spans = [Span(doc, s, e, label=label_ids[lab]) for s, e, lab in rows]
            doc.spans["sc"] = SpanGroup(doc, name="sc", attrs={"scores": span_scores}, spans=spans)
            doc.set_ents([spans[j] for j in ents], default="outside")

    def set_annotations() -> None:
        for batch, c, s in zip(batches, candidates, scores):
            ner.set_annotations(batch, (c, s))

    times = {
        "encoder": encoder,
        "suggest": best_seconds(lambda: [ner._suggest(b) for b in batches]),
        "suggest_spacy": best_seconds(
            lambda: [spacy_suggester(b, ops=NumpyOps()) for b in batches]
        ),
        "head": best_seconds(
            lambda: [ner.model.predict((b, c)) for b, c in zip(batches, candidates)]
        ),
        "decode": best_seconds(decode),
        "set_annotations": best_seconds(set_annotations),
        "annotate_spacy_floor": best_seconds(spacy_floor),
    }
    times["annotate"] = max(times.pop("set_annotations") - times["decode"], 0.0)
    per_word = {name: round(seconds / n_words * 1e6, 2) for name, seconds in times.items()}
    per_word["head_share_of_encoder"] = round(times["head"] / times["encoder"], 4)
    per_word["suggest_and_decode"] = round(per_word["suggest"] + per_word["decode"], 2)
    return per_word


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--model", type=Path, help="a spanbert_ner pipeline (default: the mode's)")
    parser.add_argument("--spacy-ner", type=Path, help="a spaCy ner pipeline (default: the mode's)")
    parser.add_argument("--docs", type=int, default=0, help="only the first N test docs (0: all)")
    args = parser.parse_args()
    use_device(args.gpu_id)
    mode = "quick" if args.quick else "full"
    work = ROOT / "benchmarks" / "work" / "conll2003" / mode
    ner_dir = args.model or work / "spanbert_ner" / "model-last"
    spacy_ner_dir = args.spacy_ner or work / "spacy_ner" / "model-last"
    nlp = spacy.load(ner_dir)
    # the test docs the pipeline's benchmark wrote, two levels above it
    test = list(DocBin().from_disk(ner_dir.parent.parent / "test.spacy").get_docs(nlp.vocab))
    test = test[: args.docs or len(test)]
    sentences = [sent.as_doc() for doc in test for sent in doc.sents]
    msg.info(f"{len(test)} test docs of 10 sentences, {len(sentences)} sentences")
    pieces = {
        "sentences": piece_times(nlp, sentences),
        "docs_of_10_sentences": piece_times(nlp, test),
    }
    for name, row in pieces.items():
        msg.info(f"µs/word, {name}: {row}")
    pipelines = {
        "spanbert_ner": nlp,
        "encoder_only": spacy.load(ner_dir, exclude=["spanbert_ner"]),
        "spacy_ner": spacy.load(spacy_ner_dir),
    }
    if args.gpu_id < 0:
        pipelines["spanbert_ner_int8"] = spacy.load(ner_dir, config=INT8)
        pipelines["encoder_only_int8"] = spacy.load(ner_dir, exclude=["spanbert_ner"], config=INT8)
    speed_docs = test[: len(test) // 2]
    words_per_second = best_words_per_second(pipelines, speed_docs, BATCH_SIZE, rounds=ROUNDS)
    systems: Dict[str, Any] = {
        name: {"words_per_second": wps} for name, wps in words_per_second.items()
    }
    for name in ("spanbert_ner", "spanbert_ner_int8"):
        if name in pipelines:
            scores, _ = evaluate(pipelines[name], test)
            systems[name].update(prf(scores, "ents"))
    if args.gpu_id < 0:
        # what a CPU without AVX-512 VNNI runs: 7-bit activations, feed-forward outputs in fp32
        with patch.object(quantization, "has_vnni", lambda: False):
            scores, _ = evaluate(spacy.load(ner_dir, config=INT8), test)
        systems["spanbert_ner_int8_without_vnni"] = prf(scores, "ents")
    ratios = {
        "spanbert_ner / encoder_only": words_per_second["spanbert_ner"]
        / words_per_second["encoder_only"],
        "spanbert_ner / spacy_ner": words_per_second["spanbert_ner"]
        / words_per_second["spacy_ner"],
    }
    if "spanbert_ner_int8" in systems:
        ratios["spanbert_ner_int8 / spanbert_ner"] = (
            words_per_second["spanbert_ner_int8"] / words_per_second["spanbert_ner"]
        )
    ratios = {name: round(value, 3) for name, value in ratios.items()}
    words = [t.text for d in test[:50] for t in d]
    peak = peak_memory_mb(ner_dir, 20000, words)
    msg.table(
        [
            (
                name,
                f"{s['words_per_second']:.0f}" if "words_per_second" in s else "",
                f"{s['f1']:.4f}" if "f1" in s else "",
            )
            for name, s in systems.items()
        ],
        header=("pipeline", "words/s", "test F1"),
        divider=True,
    )
    for name, value in ratios.items():
        msg.info(f"{name}: {value}x")
    msg.info(f"peak memory, one 20,000-word doc (MB): {peak}")
    write_results(
        "inference-speed",
        mode,
        {
            "dataset": "conll2003",
            "split": "test",
            "encoder": "all-MiniLM-L6-v2",
            "pipelines": {"spanbert_ner": _shown(ner_dir), "spacy_ner": _shown(spacy_ner_dir)},
            "batch_size": BATCH_SIZE,
            "microseconds_per_word": pieces,
            "systems": systems,
            "ratios": ratios,
            "peak_memory_mb_20k_words": peak,
        },
    )


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    main()
