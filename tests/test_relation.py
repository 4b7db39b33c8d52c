"""spanbert_rel: relations between entity spans, trained jointly with spanbert_ner."""

import pickle
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span, SpanGroup
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_spanbert.relations import Relation, get_relations, set_relations
from spacy_spanbert.scoring import score_relations

from .util import make_nlp, transformer_config

# (text, entities as (start_char, end_char, label), relations as (head idx, label, tail idx))
DATA = [
    (
        "Anna Smith works for Acme Corp in Paris today .",
        [(0, 10, "PER"), (21, 30, "ORG"), (34, 39, "LOC")],
        [(0, "Work_For", 1), (1, "Based_In", 2), (0, "Live_In", 2)],
    ),
    (
        "Bob hired Anna Smith .",
        [(0, 3, "PER"), (10, 20, "PER")],
        [(0, "Knows", 1), (1, "Knows", 0)],
    ),
    ("I like London .", [(7, 13, "LOC")], []),
]


def make_examples(nlp: Language) -> List[Example]:
    examples = []
    for text, ents, rels in DATA:
        doc = nlp.make_doc(text)
        gold = doc.copy()
        gold.ents = [gold.char_span(s, e, label=label) for s, e, label in ents]
        spans = list(gold.ents)
        set_relations(gold, [Relation(spans[h], label, spans[t]) for h, label, t in rels])
        examples.append(Example(doc, gold))
    return examples


def rel_tuples(doc: Doc):
    return sorted((r.head.text, r.label, r.tail.text) for r in get_relations(doc))


@pytest.fixture(scope="module")
def rel_nlp(tiny_bert: Path) -> Language:
    nlp = make_nlp(tiny_bert)
    nlp.add_pipe("spanbert_rel")
    fix_random_seed(0)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(80):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp


def test_overfitting_IO(rel_nlp: Language, tmp_path: Path) -> None:
    examples = make_examples(rel_nlp)
    for eg in examples:
        doc = rel_nlp(eg.reference.text)
        assert rel_tuples(doc) == rel_tuples(eg.reference)
        assert all(0.5 <= r.score <= 1.0 for r in get_relations(doc))
    scores = rel_nlp.evaluate(examples)
    assert scores["rel_micro_f"] == 1.0 and scores["ents_f"] == 1.0
    rel_nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    assert reloaded.get_pipe("spanbert_rel").cfg["entity_labels"] == ["LOC", "ORG", "PER"]
    for eg in examples:
        assert rel_tuples(reloaded(eg.reference.text)) == rel_tuples(eg.reference)


def test_entity_types_are_inputs_and_unseen_types_are_unknown(rel_nlp: Language) -> None:
    rel = rel_nlp.get_pipe("spanbert_rel")
    doc = rel_nlp.make_doc("Anna Smith works for Acme Corp in Paris today .")

    def scores(labels: List[str]):
        doc.ents = [
            Span(doc, s, e, label=lab) for (s, e), lab in zip([(0, 2), (4, 6), (7, 8)], labels)
        ]
        return rel.predict([doc])[1]

    as_trained = scores(["PER", "ORG", "LOC"])
    assert not numpy.allclose(as_trained, scores(["LOC", "ORG", "PER"]))
    # a label the component never saw is the unknown type, not an error
    assert numpy.allclose(scores(["MISC", "MISC", "MISC"]), scores(["GPE", "NORP", "FAC"]))


def test_entity_scores_multiply_relation_scores(rel_nlp: Language) -> None:
    rel = rel_nlp.get_pipe("spanbert_rel")
    doc = rel_nlp("Anna Smith works for Acme Corp in Paris today .")
    alone = {(r.head.text, r.label, r.tail.text): r.score for r in get_relations(doc)}
    entity_scores = {"Anna Smith": 0.7, "Acme Corp": 0.6}  # Paris: not scored there
    scored = [ent for ent in doc.ents if ent.text in entity_scores]
    doc.spans["sc"] = SpanGroup(
        doc, spans=scored, attrs={"scores": numpy.array([entity_scores[e.text] for e in scored])}
    )
    rel.cfg["entity_scores_key"] = "sc"
    try:
        rel.set_annotations([doc], rel.predict([doc]))
    finally:
        rel.cfg["entity_scores_key"] = None
    joint = {(r.head.text, r.label, r.tail.text): r.score for r in get_relations(doc)}
    expected = {
        key: score * entity_scores.get(key[0], 1.0) * entity_scores.get(key[2], 1.0)
        for key, score in alone.items()
    }
    assert joint == pytest.approx({k: v for k, v in expected.items() if v >= 0.5})
    assert len(joint) == len(alone) - 1  # Work_For: 0.7 x 0.6 x its own score, below 0.5


def test_symmetric_relations_are_two_directed_pairs(rel_nlp: Language) -> None:
    doc = rel_nlp("Bob hired Anna Smith .")
    assert rel_tuples(doc) == [("Anna Smith", "Knows", "Bob"), ("Bob", "Knows", "Anna Smith")]


@pytest.mark.parametrize(
    "text", ["", "hired today .", "I like London ."], ids=["empty", "no-entity", "one-entity"]
)
def test_docs_with_fewer_than_two_entities(rel_nlp: Language, text: str) -> None:
    doc = rel_nlp(text)
    assert get_relations(doc) == []


def test_many_entities_respect_max_distance(rel_nlp: Language) -> None:
    rel = rel_nlp.get_pipe("spanbert_rel")
    doc = rel_nlp.make_doc("a " * 300)
    ents = [Span(doc, i, i + 1, label="LOC") for i in range(0, 300, 3)]
    pairs = rel.candidate_pairs([ents])[0]
    max_distance = rel.cfg["max_distance"]
    assert all(max(t.start - h.end, h.start - t.end, 0) <= max_distance for h, t in pairs)
    assert len(pairs) < len(ents) * (len(ents) - 1)

    # the batch's pairs are each doc's own, in the order a loop over heads and tails gives
    def looped(entities):
        return [
            (h, t)
            for h in entities
            for t in entities
            if h is not t and max(t.start - h.end, h.start - t.end, 0) <= max_distance
        ]

    assert pairs == looped(ents)
    batch = [[], ents[:1], ents, ents[:2]]
    assert rel.candidate_pairs(batch) == [looped(entities) for entities in batch]
    doc.ents = ents
    rel.set_annotations([doc], rel.predict([doc]))  # runs on 100 entities without error


def test_duplicate_gold_relations_count_once(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    rel = nlp.add_pipe("spanbert_rel")
    eg = make_examples(nlp)[0]
    relations = get_relations(eg.reference)
    set_relations(eg.reference, relations + relations[:1])
    nlp.initialize(get_examples=lambda: [eg])
    pairs = rel.candidate_pairs([rel._gold_entities(eg)])
    scores = rel.model.ops.alloc2f(len(pairs[0]), len(rel.labels))
    _, d_scores = rel.get_loss([eg], (pairs, scores))
    assert int((d_scores < 0).sum()) == 3  # three distinct gold (pair, label) cells


def test_relations_survive_docbin_pickle_and_multiprocessing(rel_nlp: Language) -> None:
    texts = [text for text, _, _ in DATA]
    docs = list(rel_nlp.pipe(texts))
    restored = list(
        DocBin(docs=docs, store_user_data=True)
        .from_bytes(DocBin(docs=docs, store_user_data=True).to_bytes())
        .get_docs(rel_nlp.vocab)
    )
    assert [rel_tuples(d) for d in restored] == [rel_tuples(d) for d in docs]
    assert [rel_tuples(pickle.loads(pickle.dumps(d))) for d in docs] == [
        rel_tuples(d) for d in docs
    ]
    assert [rel_tuples(Doc(rel_nlp.vocab).from_bytes(d.to_bytes())) for d in docs] == [
        rel_tuples(d) for d in docs
    ]


@pytest.mark.cpu_only  # n_process forks, and a forked process can't use CUDA
def test_relations_survive_multiprocessing(rel_nlp: Language) -> None:
    texts = [text for text, _, _ in DATA]
    docs = list(rel_nlp.pipe(texts))
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # PyTorch's thread pool deadlocks after fork (spaCy issue #6662)
    try:
        multi = list(rel_nlp.pipe(texts, n_process=2))
    finally:
        torch.set_num_threads(n_threads)
    assert [rel_tuples(d) for d in multi] == [rel_tuples(d) for d in docs]


def test_strict_relation_score_needs_types_and_boundaries() -> None:
    nlp = spacy.blank("en")
    gold = nlp.make_doc("Anna Smith works for Acme Corp")
    gold.ents = [Span(gold, 0, 2, "PER"), Span(gold, 4, 6, "ORG")]
    set_relations(gold, [Relation(gold.ents[0], "Work_For", gold.ents[1])])
    wrong_type, wrong_bounds, right = (gold.copy() for _ in range(3))
    set_relations(
        wrong_type,
        [Relation(Span(wrong_type, 0, 2, "ORG"), "Work_For", Span(wrong_type, 4, 6, "ORG"))],
    )
    set_relations(
        wrong_bounds,
        [Relation(Span(wrong_bounds, 1, 2, "PER"), "Work_For", Span(wrong_bounds, 4, 6, "ORG"))],
    )
    set_relations(right, get_relations(gold))
    for predicted, expected in ((wrong_type, 0.0), (wrong_bounds, 0.0), (right, 1.0)):
        assert score_relations([Example(predicted, gold)])["rel_micro_f"] == expected
    scores = score_relations([Example(right, gold), Example(wrong_type, gold)])
    assert scores["rel_micro_p"] == 0.5 and scores["rel_micro_r"] == 0.5
    assert set(scores["rel_per_type"]) == {"Work_For"}


def test_unknown_relation_label_in_get_loss_is_an_error(tiny_bert: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(tiny_bert))
    rel = nlp.add_pipe("spanbert_rel")
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples[1:])  # only "Knows"
    pairs = rel.training_candidates(examples[:1])
    scores = rel.model.predict(rel.model_input([examples[0].predicted], pairs))
    with pytest.raises(
        ValueError, match="gold relation label '(Work_For|Based_In|Live_In)' is unknown"
    ):
        rel.get_loss(examples[:1], (pairs, scores))


def test_render_relations_html_and_cli(rel_nlp: Language, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spacy_spanbert.cli import app
    from spacy_spanbert.render import relation_graph, render_relations

    doc = rel_nlp(DATA[0][0])
    graph = relation_graph(doc)
    assert [w["text"] for w in graph["words"]][:3] == ["Anna Smith", "works", "for"]
    assert sorted(a["label"] for a in graph["arcs"]) == ["Based_In", "Live_In", "Work_For"]
    html = render_relations(doc)
    assert html.startswith("<!DOCTYPE html>") and "Work_For" in html and "PER" in html
    rel_nlp.to_disk(tmp_path / "model")
    out = tmp_path / "rels.html"
    result = CliRunner().invoke(
        app, ["render", str(tmp_path / "model"), DATA[0][0], "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    saved = out.read_text()
    assert "Work_For" in saved and "Acme Corp" in saved and "<svg" in saved


def relation_example(gold_rel, predicted_rel) -> Example:
    """Two mentions e1 ("Anna", PER) and e2 ("Acme", ORG); each relation is None or
    (label, direction) with direction "e1,e2" (e1 is the head) or "e2,e1"."""
    docs = []
    for rel in (predicted_rel, gold_rel):
        doc = spacy.blank("en").make_doc("Anna joined Acme")
        doc.ents = [Span(doc, 0, 1, "PER"), Span(doc, 2, 3, "ORG")]
        if rel is not None:
            label, direction = rel
            head, tail = doc.ents if direction == "e1,e2" else doc.ents[::-1]
            set_relations(doc, [Relation(head, label, tail)])
        docs.append(doc)
    return Example(docs[0], docs[1])


def test_semeval_official_score_by_hand() -> None:
    """SemEval-2010 Task 8: per type, P = right type and direction / predicted of the type,
    R = right / gold of the type; macro-F1 over the types; Other is no relation."""
    key = [  # (gold, predicted)
        (("Cause-Effect", "e1,e2"), ("Cause-Effect", "e1,e2")),  # right
        (("Cause-Effect", "e2,e1"), ("Cause-Effect", "e1,e2")),  # wrong direction
        (("Component-Whole", "e1,e2"), None),  # predicted Other
        (None, ("Component-Whole", "e2,e1")),  # gold Other
        (("Component-Whole", "e2,e1"), ("Component-Whole", "e2,e1")),  # right
        (("Cause-Effect", "e1,e2"), ("Cause-Effect", "e1,e2")),  # right
    ]
    scores = score_relations([relation_example(g, p) for g, p in key])
    # Cause-Effect: 2 right of 3 predicted, 3 gold; Component-Whole: 1 of 2 and 2
    assert scores["rel_per_type"]["Cause-Effect"]["f"] == pytest.approx(2 / 3)
    assert scores["rel_per_type"]["Component-Whole"]["f"] == pytest.approx(1 / 2)
    assert scores["rel_macro_f"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert scores["rel_micro_f"] == pytest.approx(3 / 5)


def test_tacred_official_score_by_hand() -> None:
    """TACRED: micro-F1 over subject -> object relations, no_relation excluded."""
    key = [
        (("per:title", "e1,e2"), ("per:title", "e1,e2")),  # right
        (None, ("org:founded", "e1,e2")),  # no_relation predicted as a relation
        (("per:age", "e1,e2"), None),  # missed
        (("per:age", "e1,e2"), ("per:title", "e1,e2")),  # wrong label
    ]
    scores = score_relations([relation_example(g, p) for g, p in key])
    assert scores["rel_micro_p"] == pytest.approx(1 / 3)
    assert scores["rel_micro_r"] == pytest.approx(1 / 3)
    assert scores["rel_micro_f"] == pytest.approx(1 / 3)


# one relation per pair of mentions, in either direction, or none
SINGLE_LABEL_DATA = [
    ("Anna Smith works for Acme Corp .", [(0, 10, "PER"), (21, 30, "ORG")], [(0, "Work_For", 1)]),
    ("Acme Corp hired Bob .", [(0, 9, "ORG"), (16, 19, "PER")], [(1, "Work_For", 0)]),
    ("Bob met Anna Smith .", [(0, 3, "PER"), (8, 18, "PER")], []),
]


@pytest.mark.parametrize("decision", ["directed", "pair"])
def test_overfitting_IO_single_label_over_given_entities(
    tiny_bert: Path, tmp_path: Path, decision: str
) -> None:
    from spacy_spanbert.given_entities import with_given_entities

    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(tiny_bert))
    nlp.add_pipe("spanbert_rel", config={"decision": decision})
    examples = []
    for text, ents, rels in SINGLE_LABEL_DATA:
        gold = nlp.make_doc(text)
        gold.ents = [gold.char_span(s, e, label=label) for s, e, label in ents]
        spans = list(gold.ents)
        set_relations(gold, [Relation(spans[h], label, spans[t]) for h, label, t in rels])
        examples.append(Example(nlp.make_doc(text), gold))
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(80):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    given = [with_given_entities(eg) for eg in examples]
    assert nlp.evaluate(given)["rel_micro_f"] == 1.0
    predicted = [nlp(eg.predicted) for eg in given]
    for doc in predicted:  # at most one relation per pair of mentions
        assert len(get_relations(doc)) <= 1
        assert all(0.5 <= rel.score <= 1.0 for rel in get_relations(doc))
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    assert reloaded.get_pipe("spanbert_rel").cfg["decision"] == decision
    assert reloaded.evaluate(given)["rel_micro_f"] == 1.0


def test_unknown_decision_is_refused() -> None:
    with pytest.raises(ValueError, match="decision 'softmax'"):
        spacy.blank("en").add_pipe("spanbert_rel", config={"decision": "softmax"})


def test_relations_no_candidate_reaches_are_counted(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    nlp.add_pipe("spanbert_rel")
    gold = nlp.make_doc("Anna Smith works for Acme Corp")
    gold.ents = [Span(gold, 0, 2, "PER"), Span(gold, 4, 6, "ORG")]
    set_relations(
        gold,
        [
            Relation(gold.ents[0], "Work_For", gold.ents[1]),
            Relation(gold.ents[0], "Self", gold.ents[0]),
        ],
    )
    examples = [Example(nlp.make_doc(gold.text), gold)]
    with pytest.warns(UserWarning, match=r"1 gold relations .*'same span': 1"):
        nlp.initialize(lambda: examples)


def test_relations_between_nested_spans_are_counted_naming_spans_key(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    nlp.add_pipe("spanbert_rel")
    gold = nlp.make_doc("the IL-2 gene binds NF-kB")
    outer, inner, other = (
        Span(gold, 1, 3, "DNA"),
        Span(gold, 1, 2, "protein"),
        Span(gold, 4, 5, "protein"),
    )
    gold.spans["sc"] = [outer, inner, other]
    gold.ents = [outer, other]
    set_relations(gold, [Relation(inner, "Binds", other), Relation(outer, "Near", other)])
    examples = [Example(nlp.make_doc(gold.text), gold)]
    with pytest.warns(
        UserWarning, match=r"1 gold relations .*'an argument not among the entities': 1.*spans_key"
    ):
        nlp.initialize(lambda: examples)
