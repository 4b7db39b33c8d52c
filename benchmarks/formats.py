"""Annotation-tool formats on real data: CoNLL04's and GENIA's test splits written with each
exporter and read back with the matching reader; entities, spans and relations (boundaries
and labels, in characters) in and out, and every difference counted as a mismatch. Formats
that can't hold everything (doccano's label shape, Prodigy's ner view) also run, and what
they leave out must be exactly what their warning counted.

    python benchmarks/formats.py           # round trips (seconds)
    python benchmarks/formats.py --train   # also CoNLL04 trained through brat beside
                                           # relations-json, rel_conll04.py --quick's settings
"""

import tempfile
from pathlib import Path
from typing import Any, Callable, Counter, Dict, List, Set, Tuple

import spacy
from common import (
    ROOT,
    SHARED_DATA,
    benchmark_parser,
    evaluate,
    save_docbin,
    train,
    training_overrides,
    write_results,
)
from spacy.tokens import Doc
from thinc.api import Config
from wasabi import msg

from spacy_spanbert.corpus.brat import read_brat, write_brat
from spacy_spanbert.corpus.char_offsets import whitespace_tokens
from spacy_spanbert.corpus.doccano import read_doccano, write_doccano
from spacy_spanbert.corpus.label_studio import read_label_studio, write_label_studio
from spacy_spanbert.corpus.nested_json import read_nested_json
from spacy_spanbert.corpus.prodigy import read_prodigy, write_prodigy
from spacy_spanbert.corpus.relations_json import read_relations_json
from spacy_spanbert.relations import get_relations

SPANS_KEY = "sc"
Items = Dict[str, Set[Tuple[Any, ...]]]
RoundTrip = Callable[[List[Doc], Path], Tuple[List[Doc], Counter]]


def round_trips(nlp: spacy.Language) -> Dict[str, RoundTrip]:
    """Per system: write the docs with an exporter, read them back with the reader."""
    make_doc = whitespace_tokens(nlp.vocab)

    def named(docs: List[Doc]) -> List[Tuple[str, Doc]]:
        return [(f"doc-{i:05d}", doc) for i, doc in enumerate(docs)]

    def brat(docs: List[Doc], tmp: Path) -> Tuple[List[Doc], Counter]:
        written = write_brat(named(docs), tmp / "brat", spans_key=SPANS_KEY)
        return read_brat(tmp / "brat", make_doc, spans_key=SPANS_KEY), written

    def label_studio(docs: List[Doc], tmp: Path) -> Tuple[List[Doc], Counter]:
        path = tmp / "tasks.json"
        written = write_label_studio(named(docs), path, spans_key=SPANS_KEY, as_annotations=True)
        return read_label_studio(path, make_doc, spans_key=SPANS_KEY), written

    def doccano(shape: str) -> RoundTrip:
        def run(docs: List[Doc], tmp: Path) -> Tuple[List[Doc], Counter]:
            path = tmp / f"doccano-{shape}.jsonl"
            written = write_doccano(named(docs), path, spans_key=SPANS_KEY, shape=shape)
            return read_doccano(path, make_doc, spans_key=SPANS_KEY), written

        return run

    def prodigy(view: str) -> RoundTrip:
        def run(docs: List[Doc], tmp: Path) -> Tuple[List[Doc], Counter]:
            path = tmp / f"prodigy-{view}.jsonl"
            written = write_prodigy(named(docs), path, spans_key=SPANS_KEY, view=view)
            return read_prodigy(path, nlp.vocab, spans_key=SPANS_KEY), written

        return run

    return {
        "brat": brat,
        "label_studio": label_studio,
        "doccano": doccano("entities"),
        "prodigy": prodigy("spans"),
        "doccano_label": doccano("label"),
        "prodigy_ner": prodigy("ner"),
    }


def items(docs: List[Doc]) -> Items:
    """Entities, spans and relations of each doc in characters, keyed by the doc's index."""
    out: Items = {"entities": set(), "spans": set(), "relations": set(), "tokens": set()}
    for i, doc in enumerate(docs):
        out["entities"].update((i, e.start_char, e.end_char, e.label_) for e in doc.ents)
        out["spans"].update(
            (i, s.start_char, s.end_char, s.label_) for s in doc.spans.get(SPANS_KEY, [])
        )
        out["relations"].update(
            (i, r.head.start_char, r.head.end_char, r.label, r.tail.start_char, r.tail.end_char)
            for r in get_relations(doc)
        )
        out["tokens"].add((i, tuple(t.text for t in doc)))
    return out


def compare(source: List[Doc], read: List[Doc], written: Counter) -> Dict[str, Any]:
    before, after = items(source), items(read)
    result: Dict[str, Any] = {"documents_in": len(source), "documents_out": len(read)}
    for name in ("entities", "spans", "relations"):
        result[f"{name}_in"] = len(before[name])
        result[f"{name}_out"] = len(after[name])
    result["left_out_with_warning"] = {k: v for k, v in written.items() if k.endswith("left out")}
    # a format that can't hold something must lose exactly what it warned about, no more
    lost_relations = written["relations left out"]
    lost_spans = written["overlapping spans left out"]
    result["mismatches"] = (
        len(after["spans"] - before["spans"])
        + abs(len(before["spans"] - after["spans"]) - lost_spans)
        + len(after["relations"] - before["relations"])
        + abs(len(before["relations"] - after["relations"]) - lost_relations)
        + len(before["entities"] ^ after["entities"])
        + (len(source) != len(read))
    )
    result["tokens_identical"] = before["tokens"] == after["tokens"]
    return result


def datasets(nlp: spacy.Language) -> Dict[str, List[Doc]]:
    return {
        "conll04": read_relations_json(
            SHARED_DATA / "conll04" / "two_are_better" / "test.CoNLL04.json", nlp.vocab
        ),
        "genia": read_nested_json(SHARED_DATA / "genia" / "jsonl" / "test.jsonl", nlp.vocab),
    }


def train_through_brat(nlp: spacy.Language, seed: int) -> Dict[str, Any]:
    """CoNLL04 trained with rel_conll04.py --quick's data, steps and seed, read from
    relations-json and from brat files written from it; test scores of both."""
    from rel_conll04 import prepare_conll04

    steps = 150
    base = ROOT / "benchmarks" / "work" / "formats"
    splits = prepare_conll04(base / "relations-json", 300)
    make_doc = whitespace_tokens(nlp.vocab)
    for split, docs in splits.items():
        folder = base / "brat" / split
        write_brat([(f"doc-{i:05d}", doc) for i, doc in enumerate(docs)], folder)
        save_docbin(read_brat(folder, make_doc), base / "brat" / f"{split}.spacy")
    config = Config().from_disk(ROOT / "configs" / "rel.cfg", interpolate=False)
    scores = {}
    for reader in ("relations-json", "brat"):
        work = base / reader
        overrides = training_overrides(work, steps, seed, dev="valid")
        # relations-json's docs have unknown spaces, so spaCy trains on their tokens; docs
        # read with known spaces are retokenized unless gold_preproc keeps their tokens
        overrides.update({"corpora.train.gold_preproc": "true", "corpora.dev.gold_preproc": "true"})
        model_dir = train(config, work / "spanbert_ner+rel", overrides)
        test = list(spacy.tokens.DocBin().from_disk(work / "test.spacy").get_docs(nlp.vocab))
        result, _ = evaluate(spacy.load(model_dir), test)
        scores[reader] = {"ents_f1": result["ents_f"], "rel_f1": result["rel_micro_f"]}
    return {
        "examples": len(splits["train"]),
        "steps": steps,
        "seed": seed,
        "gold_preproc": True,
        "test": scores,
    }


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--train", action="store_true", help="also train through brat")
    args = parser.parse_args()
    nlp = spacy.blank("en")
    systems: Dict[str, Dict[str, Any]] = {}
    rows = []
    for data_name, docs in datasets(nlp).items():
        for system, round_trip in round_trips(nlp).items():
            with tempfile.TemporaryDirectory() as tmp:
                read, written = round_trip(docs, Path(tmp))
            result = compare(docs, read, written)
            systems.setdefault(system, {})[data_name] = result
            rows.append(
                (
                    system,
                    data_name,
                    f"{result['spans_in']} -> {result['spans_out']}",
                    f"{result['relations_in']} -> {result['relations_out']}",
                    sum(result["left_out_with_warning"].values()),
                    result["mismatches"],
                )
            )
    msg.table(
        rows,
        header=("format", "data (test)", "spans", "relations", "left out, warned", "mismatches"),
        divider=True,
    )
    payload: Dict[str, Any] = {
        "dataset": "conll04, genia",
        "split": "test",
        "systems": systems,
    }
    if args.train:
        payload["training"] = train_through_brat(nlp, args.seed)
        payload["encoder"] = "all-MiniLM-L6-v2"
        for reader, scores in payload["training"]["test"].items():
            msg.info(f"trained through {reader}: relation F1 {scores['rel_f1']:.4f}")
    write_results("formats", "full", payload)


if __name__ == "__main__":
    main()
