"""spanbert_ner: training, prediction, serialization and edge cases (spaCy's test patterns)."""

from pathlib import Path
from typing import List, Tuple

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import fix_random_seed

from .util import make_nlp

FLAT_DATA = [
    ("I like London and Berlin .", [(7, 13, "LOC"), (18, 24, "LOC")]),
    ("Anna Smith works for Acme Corp in Paris today .", [(0, 10, "PER"), (21, 30, "ORG"), (34, 39, "LOC")]),
]
# nested: "University of Oslo" (ORG) contains "Oslo" (LOC)
NESTED_DATA = [
    ("The University of Oslo hired Bob .", [(4, 22, "ORG"), (18, 22, "LOC"), (29, 32, "PER")]),
    ("I like New York .", [(7, 15, "LOC")]),
]
SPANS_KEY = "sc"


def flat_examples(nlp: Language) -> List[Example]:
    examples = []
    for text, ents in FLAT_DATA:
        examples.append(Example.from_dict(nlp.make_doc(text), {"entities": ents}))
    return examples


def nested_examples(nlp: Language) -> List[Example]:
    examples = []
    for text, spans in NESTED_DATA:
        doc = nlp.make_doc(text)
        gold = doc.copy()
        gold.spans[SPANS_KEY] = [gold.char_span(s, e, label=label) for s, e, label in spans]
        examples.append(Example(doc, gold))
    return examples


def train(nlp: Language, examples: List[Example], n_iter: int = 60) -> None:
    fix_random_seed(0)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=0.0)


def span_tuples(spans) -> List[Tuple[int, int, str]]:
    return sorted((s.start, s.end, s.label_) for s in spans)


@pytest.fixture(scope="module")
def flat_nlp(tiny_bert: Path) -> Language:
    nlp = make_nlp(tiny_bert)
    train(nlp, flat_examples(nlp))
    return nlp


@pytest.fixture(scope="module")
def nested_nlp(tiny_bert: Path) -> Language:
    nlp = make_nlp(tiny_bert, spans_key=SPANS_KEY)
    train(nlp, nested_examples(nlp))
    return nlp


def test_overfitting_IO_flat(flat_nlp: Language, tmp_path: Path) -> None:
    examples = flat_examples(flat_nlp)
    docs = [flat_nlp(eg.reference.text) for eg in examples]
    for doc, eg in zip(docs, examples):
        assert span_tuples(doc.ents) == span_tuples(eg.reference.ents)
    flat_nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    for doc in docs:
        doc2 = reloaded(doc.text)
        assert span_tuples(doc2.ents) == span_tuples(doc.ents)
        assert numpy.allclose(doc2.spans[SPANS_KEY].attrs["scores"], doc.spans[SPANS_KEY].attrs["scores"])
    scores = reloaded.evaluate(examples)
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"LOC", "PER", "ORG"}


def test_overfitting_IO_nested(nested_nlp: Language, tmp_path: Path) -> None:
    examples = nested_examples(nested_nlp)
    for eg in examples:
        doc = nested_nlp(eg.reference.text)
        assert span_tuples(doc.spans[SPANS_KEY]) == span_tuples(eg.reference.spans[SPANS_KEY])
        # flat view: non-overlapping, each one of the nested spans
        assert set(span_tuples(doc.ents)) <= set(span_tuples(doc.spans[SPANS_KEY]))
        scores = doc.spans[SPANS_KEY].attrs["scores"]
        assert len(scores) == len(doc.spans[SPANS_KEY]) and (scores >= 0.5).all()
    nested_nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    for eg in examples:
        doc = reloaded(eg.reference.text)
        assert span_tuples(doc.spans[SPANS_KEY]) == span_tuples(eg.reference.spans[SPANS_KEY])
    scores = reloaded.evaluate(examples)
    assert scores[f"spans_{SPANS_KEY}_f"] == 1.0
