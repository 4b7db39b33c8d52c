"""spanbert_ner: training, prediction, serialization and edge cases (spaCy's test patterns)."""

from pathlib import Path
from typing import List, Tuple

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import fix_random_seed

from .util import make_nlp

FLAT_DATA = [
    ("I like London and Berlin .", [(7, 13, "LOC"), (18, 24, "LOC")]),
    (
        "Anna Smith works for Acme Corp in Paris today .",
        [(0, 10, "PER"), (21, 30, "ORG"), (34, 39, "LOC")],
    ),
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


def long_text(repeats: int = 130) -> Tuple[str, List[Tuple[int, int, str]]]:
    """FLAT_DATA's first sentence ``repeats`` times, then its second: text and entities."""
    (first, first_ents), (last, last_ents) = FLAT_DATA
    step = len(first) + 1
    ents = [
        (s + i * step, e + i * step, label) for i in range(repeats) for s, e, label in first_ents
    ]
    offset = repeats * step
    return (first + " ") * repeats + last, ents + [
        (s + offset, e + offset, lab) for s, e, lab in last_ents
    ]


@pytest.fixture(scope="module")
def long_text_nlp(tiny_bert: Path) -> Language:
    """Trained on FLAT_DATA and on the last encoder window of ``long_text()`` as a doc of its
    own: a model fitted to two sentences can't be expected to generalise to where they sit
    in a long text (the tiny encoder's position embeddings), so the window the end of that
    text is encoded in is one the model has fitted, and the test is whether striding gets
    there."""
    nlp = make_nlp(tiny_bert)
    text, ents = long_text()
    get_spans = nlp.get_pipe("transformer").model.attrs["get_spans"]
    window = get_spans([nlp.make_doc(text)])[0][-1]
    start, end = window.start_char, window.end_char
    window_ents = [(s - start, e - start, label) for s, e, label in ents if s >= start]
    window_example = Example.from_dict(nlp.make_doc(text[start:end]), {"entities": window_ents})
    train(nlp, flat_examples(nlp) + [window_example])
    return nlp


@pytest.fixture(scope="module")
def nested_nlp(tiny_bert: Path) -> Language:
    nlp = make_nlp(tiny_bert, spans_key=SPANS_KEY)
    train(nlp, nested_examples(nlp), n_iter=100)
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
        assert numpy.allclose(
            doc2.spans[SPANS_KEY].attrs["scores"], doc.spans[SPANS_KEY].attrs["scores"]
        )
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


def test_serialization_bytes_round_trip(flat_nlp: Language) -> None:
    ner = flat_nlp.get_pipe("spanbert_ner")
    nlp2 = make_nlp_from_bytes(flat_nlp)
    ner2 = nlp2.get_pipe("spanbert_ner")
    assert ner2.labels == ner.labels and ner2.cfg == ner.cfg
    text = FLAT_DATA[1][0]
    assert span_tuples(nlp2(text).ents) == span_tuples(flat_nlp(text).ents)


def make_nlp_from_bytes(nlp: Language) -> Language:
    return spacy.util.get_lang_class("en").from_config(nlp.config).from_bytes(nlp.to_bytes())


def test_labels_exported(flat_nlp: Language) -> None:
    ner = flat_nlp.get_pipe("spanbert_ner")
    assert sorted(ner.label_data) == ["LOC", "ORG", "PER"]


@pytest.mark.parametrize(
    "words",
    [[], ["\n"], [" ", "Paris", "\t"], ["I", "like", "🌍", "and", "Berlin", "😀"]],
    ids=["empty", "newline", "whitespace", "emoji"],
)
def test_edge_case_docs(flat_nlp: Language, words: List[str]) -> None:
    doc = flat_nlp(Doc(flat_nlp.vocab, words=words))
    assert all(not ent.text.isspace() for ent in doc.ents) or words[0].isspace()
    assert len(doc.spans[SPANS_KEY].attrs["scores"]) == len(doc.spans[SPANS_KEY])
    batch = list(flat_nlp.pipe([Doc(flat_nlp.vocab, words=words) for _ in range(3)]))
    assert [span_tuples(d.ents) for d in batch] == [span_tuples(doc.ents)] * 3


def test_text_longer_than_512_wordpieces(long_text_nlp: Language) -> None:
    """Striding covers the whole text: tokens past the first 512 wordpieces get vectors and
    the entities there are found."""
    text, _ = long_text()
    assert len(long_text_nlp.get_pipe("transformer").model.tokenizer(text)["input_ids"]) > 512
    doc = long_text_nlp(text)
    windows = long_text_nlp.get_pipe("transformer").model.attrs["get_spans"]([doc])[0]
    assert windows[-2].end <= len(doc) - 10  # the last sentence is in the last window only
    assert all(doc._.trf_data.align[i].lengths.sum() > 0 for i in range(len(doc) - 10, len(doc)))
    gold_end = {
        (len(doc) - 10, len(doc) - 8, "PER"),
        (len(doc) - 6, len(doc) - 4, "ORG"),
        (len(doc) - 3, len(doc) - 2, "LOC"),
    }
    assert {t for t in span_tuples(doc.ents) if t[0] >= len(doc) - 10} == gold_end


def test_label_unseen_at_initialize_comes_with_the_data(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    examples = flat_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples[:1])  # LOC only
    nlp.update(examples[1:], sgd=optimizer)
    assert nlp.get_pipe("spanbert_ner").labels == ("LOC", "ORG", "PER")


def test_get_loss_names_a_label_unknown_to_the_component(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    examples = flat_examples(nlp)
    nlp.initialize(get_examples=lambda: examples[:1])  # LOC only
    ner = nlp.get_pipe("spanbert_ner")
    candidates, scores = ner.predict([eg.predicted for eg in examples[1:]])
    with pytest.raises(ValueError, match="label 'PER', unknown to this component"):
        ner.get_loss(examples[1:], (candidates, scores))


def test_gold_span_wider_than_max_width_is_counted(tiny_bert: Path) -> None:
    nlp = make_nlp(
        tiny_bert,
        suggester={"@misc": "spacy.ngram_range_suggester.v1", "min_size": 1, "max_size": 1},
    )
    examples = flat_examples(nlp)  # "Anna Smith" and "Acme Corp" are 2 tokens wide
    expected = r"2 gold spans .* not among the suggester's candidates .*'PER': 1, 'ORG': 1"
    with pytest.warns(UserWarning, match=expected):
        nlp.initialize(get_examples=lambda: examples)


@pytest.mark.parametrize("label", ["NEW LABEL", " LOC", "", "A\tB"])
def test_label_with_whitespace_is_refused(tiny_bert: Path, label: str) -> None:
    ner = make_nlp(tiny_bert).get_pipe("spanbert_ner")
    with pytest.raises(ValueError, match="invalid label"):
        ner.add_label(label)


def test_predict_has_no_side_effects(flat_nlp: Language) -> None:
    doc = flat_nlp.make_doc(FLAT_DATA[0][0])
    doc = flat_nlp.get_pipe("transformer")(doc)
    flat_nlp.get_pipe("spanbert_ner").predict([doc])
    assert not doc.ents and SPANS_KEY not in doc.spans


def test_score_weights_and_scorer_keys(flat_nlp: Language) -> None:
    scores = flat_nlp.evaluate(flat_examples(flat_nlp))
    for key in ("ents_p", "ents_r", "ents_f", f"spans_{SPANS_KEY}_f"):
        assert key in scores


def test_learn_rate_scale_applies_to_the_head_only(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    examples = flat_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    nlp.update(examples, sgd=optimizer)  # the zero-initialized output layer starts to move
    ner = nlp.get_pipe("spanbert_ner")
    ner.cfg["learn_rate_scale"] = 0.0
    head = ner.model.get_ref("span_encoder")
    before = head.get_param("W_start").copy()
    encoder = nlp.get_pipe("transformer").model.transformer
    encoder_before = [p.detach().clone() for p in encoder.parameters()]
    nlp.update(examples, sgd=optimizer)
    assert numpy.array_equal(head.get_param("W_start"), before)
    assert any(not bool((p == q).all()) for p, q in zip(encoder.parameters(), encoder_before))


def test_gold_spans_not_aligned_to_tokens_are_counted(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    predicted = Doc(nlp.vocab, words=["NewYork", "is", "big"])
    reference = Doc(nlp.vocab, words=["New", "York", "is", "big"], ents=["B-LOC", "O", "O", "O"])
    examples = [Example(predicted, reference)] + flat_examples(nlp)
    with pytest.warns(UserWarning, match="1 gold spans in the training data don't align"):
        nlp.initialize(get_examples=lambda: examples)


def test_write_ents_off_leaves_doc_ents_alone(flat_nlp: Language) -> None:
    text = FLAT_DATA[1][0]
    ner = flat_nlp.get_pipe("spanbert_ner")
    ner.cfg["write_ents"] = False
    try:
        doc = flat_nlp(text)
    finally:
        ner.cfg["write_ents"] = True
    assert len(doc.spans[SPANS_KEY]) == 3 and doc.ents == ()
