"""spanbert_rel with MarkerRelationModel.v1: a relation encoder of its own reading entity
markers, solid (a sequence per pair), levitated (markers after the text) or packed (a sequence
per head, its tails' markers after the text)."""

from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from spacy.tokens import Span
from spacy.util import fix_random_seed
from thinc.api import Ragged

from spacy_spanbert.layers.marker_encoder import (
    SEQUENCES,
    MarkedSequences,
    encoder_chunks,
    levitated_sequences,
    packed_sequences,
    solid_sequences,
)
from spacy_spanbert.markers import marker_vocabulary, solid_head_text, solid_text
from spacy_spanbert.relations import get_relations

from .test_relation import DATA, make_examples, rel_tuples
from .tokenizer_families import write_family
from .util import make_nlp, write_tiny_bert

MARKER_WORDS = ["@", "*", "#", "^", "per", "org", "loc"]


@pytest.fixture(scope="module")
def marker_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("marker_bert"), extra_words=MARKER_WORDS)


def marker_model(encoder: Path, **settings: Any) -> Dict[str, Any]:
    return {
        "model": {
            "@architectures": "spacy_spanbert.MarkerRelationModel.v1",
            "name": str(encoder),
            **settings,
        }
    }


def trained(encoder: Path, steps: int = 60, **settings: Any) -> Language:
    nlp = make_nlp(encoder)
    nlp.add_pipe("spanbert_rel", config=marker_model(encoder, **settings))
    fix_random_seed(0)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


@pytest.fixture(scope="module", params=["solid", "levitated", "packed"])
def marker_nlp(request: pytest.FixtureRequest, marker_bert: Path) -> Language:
    return trained(marker_bert, passes=request.param)


def test_overfitting_IO(marker_nlp: Language, tmp_path: Path) -> None:
    examples = make_examples(marker_nlp)
    for eg in examples:
        assert rel_tuples(marker_nlp(eg.reference.text)) == rel_tuples(eg.reference)
    assert marker_nlp.evaluate(examples)["rel_micro_f"] == 1.0
    marker_nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    encoder = reloaded.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    assert encoder.attrs["entity_labels"] == ["LOC", "ORG", "PER"]
    text = DATA[0][0]
    before = get_relations(marker_nlp(text))
    after = get_relations(reloaded(text))
    assert [r.label for r in after] == [r.label for r in before]
    assert [r.score for r in after] == pytest.approx([r.score for r in before], abs=1e-5)


def test_typed_markers_read_the_entity_types(marker_nlp: Language) -> None:
    rel = marker_nlp.get_pipe("spanbert_rel")
    doc = marker_nlp.make_doc(DATA[0][0])

    def scores(labels):
        bounds = [(0, 2), (4, 6), (7, 8)]
        doc.ents = [Span(doc, s, e, label=lab) for (s, e), lab in zip(bounds, labels)]
        probs = rel.predict([doc])[1].astype("float64")
        return numpy.log(probs / (1 - probs))

    assert not numpy.allclose(
        scores(["PER", "ORG", "LOC"]), scores(["LOC", "ORG", "PER"]), atol=1e-3
    )


@pytest.mark.parametrize("passes", ["levitated", "packed"])
def test_levitated_pairs_do_not_see_each_other(marker_bert: Path, passes: str) -> None:
    """Split over one sequence per pair or packed into one, each pair scores the same: the
    text never sees markers and a pair's markers see only the text and their own."""
    nlp = trained(marker_bert, steps=2, passes=passes)
    rel = nlp.get_pipe("spanbert_rel")
    doc = make_examples(nlp)[0].reference
    packed = rel.predict([doc])[1]
    encoder = rel.model.get_ref("marker_encoder")
    n_text = len(encoder.layers[0].shims[0]._hfmodel.tokenizer(doc.text)["input_ids"])
    encoder.attrs["max_length"] = n_text + 8  # one pair's (packed: tail's) markers a sequence
    try:
        split = rel.predict([doc])[1]
    finally:
        encoder.attrs["max_length"] = 512
    assert packed.shape == (6, len(rel.labels))
    numpy.testing.assert_allclose(packed, split, atol=1e-5)


@pytest.mark.parametrize("passes", ["levitated", "packed"])
def test_levitated_rows_keep_the_pairs_order_across_windows(marker_bert: Path, passes: str) -> None:
    """A document too long to share is read in each pair's window; pairs sharing a window
    share its sequences, and the output rows stay in the pairs' order."""
    nlp = trained(marker_bert, steps=1, passes=passes)
    encoder = nlp.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    doc = nlp.make_doc(" ".join([DATA[0][0]] * 4))
    rows = [[0, 2, 34, 36, 1, 2], [30, 32, 0, 2, 3, 1], [2, 3, 35, 36, 2, 1], [34, 36, 4, 6, 2, 2]]
    encoder.attrs.update(max_length=48, context=2)  # the doc takes 42 wordpieces + markers

    def predict(chosen):
        pairs = Ragged(numpy.array(chosen, dtype="i"), numpy.array([len(chosen)], dtype="i"))
        return encoder.predict(([doc], pairs))

    together = predict(rows)
    alone = numpy.vstack([predict([row]) for row in rows])
    numpy.testing.assert_allclose(together, alone, atol=1e-5)
    assert not numpy.allclose(together[0], together[1], atol=1e-3)


@pytest.mark.parametrize("passes", ["solid", "levitated", "packed"])
def test_training_in_chunks_gives_one_pass_gradient(marker_bert: Path, passes: str) -> None:
    """Chunks run forward without a graph and again when their gradient comes: outputs and
    encoder gradients are those of one ordinary pass over the whole batch."""
    no_dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    nlp = trained(marker_bert, steps=1, passes=passes, transformer_config=no_dropout)
    encoder = nlp.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    encoder.attrs["max_length"] = 24  # levitated: a sequence per pair
    module = encoder.layers[0].shims[0]._model
    doc = make_examples(nlp)[0].reference
    rows = [[h, h + 2, t, t + 2, 1, 2] for h, t in [(0, 4), (4, 0), (0, 7), (7, 4)]]
    pairs = Ragged(numpy.array(rows, dtype="i"), numpy.array([len(rows)], dtype="i"))
    d_output = numpy.random.default_rng(0).normal(size=(len(rows), encoder.get_dim("nO")))
    d_output = encoder.ops.asarray2f(d_output.astype("f"))

    def gradients() -> List[torch.Tensor]:
        grads = [p.grad.clone() for p in module.parameters() if p.grad is not None]
        module.zero_grad()
        return grads

    encoder.attrs["batch_tokens"] = 1  # a chunk per sequence
    chunked, backprop = encoder.begin_update(([doc], pairs))
    backprop(d_output)
    chunked_grads = gradients()
    sequences = SEQUENCES[passes](encoder, [doc], pairs)
    [(chunk, order)] = encoder_chunks(sequences, 10**6)
    whole, backprop_whole = encoder.layers[0](chunk, True)  # one pass, with its graph
    backprop_whole(d_output[order])
    whole_grads = gradients()
    assert len(sequences.input_ids) == 4
    numpy.testing.assert_allclose(chunked[order], whole, atol=1e-5)
    assert len(chunked_grads) == len(whole_grads) > 0
    for a, b in zip(chunked_grads, whole_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def marked_inputs(nlp: Language) -> Tuple[Any, MarkedSequences, MarkedSequences, int]:
    """The tokenizer, the solid and the levitated encoder input of the pair (Anna Smith, Acme
    Corp), and how many wordpieces the text takes."""
    encoder = nlp.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    tokenizer = encoder.layers[0].shims[0]._hfmodel.tokenizer
    doc = nlp.make_doc("Anna Smith works for Acme Corp in Paris today .")
    pairs = Ragged(numpy.array([[0, 2, 4, 6, 3, 2]], dtype="i"), numpy.array([1], dtype="i"))
    solid = solid_sequences(encoder, [doc], pairs)
    levitated = levitated_sequences(encoder, [doc], pairs)
    return tokenizer, solid, levitated, len(tokenizer(doc.text)["input_ids"])


def test_solid_and_levitated_inputs(marker_bert: Path) -> None:
    nlp = trained(marker_bert, steps=1, passes="solid")
    tokenizer, solid, levitated, n_text = marked_inputs(nlp)
    pieces = tokenizer.convert_ids_to_tokens(solid.input_ids[0])
    _, head, tail = solid.pair_rows[0]
    assert (
        " ".join(pieces[1:-1])
        == "@ * per * Anna Smith @ works for # ^ org ^ Acme Corp # in Paris today ."
    )
    assert (pieces[head], pieces[tail]) == ("@", "#")
    ids, positions = levitated.input_ids[0], levitated.position_ids[0]
    assert tokenizer.convert_ids_to_tokens(ids[n_text:]) == [
        "@",
        "*",
        "per",
        "*",
        "@",
        "#",
        "^",
        "org",
        "^",
        "#",
    ]
    # markers sit at the positions of the spans' first and last wordpieces
    assert positions[n_text:] == [1, 1, 1, 1, 2, 5, 5, 5, 5, 6]
    _, head, tail = levitated.pair_rows[0]
    assert (head, tail) == (n_text, n_text + 5)
    attention = levitated.attention[0]
    assert attention[:n_text, n_text:].sum() == 0 and attention[n_text:].all()


def test_packed_inputs(marker_bert: Path) -> None:
    """One sequence per head: the head's markers in the text, each tail's after it at the
    positions of the tail's first and last wordpiece in the marked text."""
    nlp = trained(marker_bert, steps=1, passes="packed")
    encoder = nlp.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    tokenizer = encoder.layers[0].shims[0]._hfmodel.tokenizer
    doc = nlp.make_doc("Anna Smith works for Acme Corp in Paris today .")
    rows = [[0, 2, 4, 6, 3, 2], [4, 6, 0, 2, 2, 3], [0, 2, 7, 8, 3, 1]]
    pairs = Ragged(numpy.array(rows, dtype="i"), numpy.array([3], dtype="i"))
    batch = packed_sequences(encoder, [doc], pairs)
    assert len(batch.input_ids) == 2  # one sequence per head
    pieces = tokenizer.convert_ids_to_tokens(batch.input_ids[0])
    marked = "@ * per * Anna Smith @ works for Acme Corp in Paris today ."
    n_text = len(marked.split()) + 2
    assert " ".join(pieces[1 : n_text - 1]) == marked
    assert pieces[n_text:] == ["#", "^", "org", "^", "#", "#", "^", "loc", "^", "#"]
    # Acme: 10, Corp: 11, Paris: 13 in the marked text ([CLS] is 0)
    assert batch.position_ids[0][n_text:] == [10] * 4 + [11] + [13] * 4 + [13]
    assert [row[:2] for row in batch.pair_rows] == [(0, 1), (1, 5), (0, 1)]
    assert [row[2] for row in batch.pair_rows] == [n_text, n_text, n_text + 5]
    attention = batch.attention[0]
    assert attention[:n_text, n_text:].sum() == 0
    assert attention[n_text : n_text + 5, n_text + 5 :].sum() == 0
    second = tokenizer.convert_ids_to_tokens(batch.input_ids[1])
    assert second[1:6] == ["Anna", "Smith", "works", "for", "@"]


def test_solid_head_text_gives_word_offsets() -> None:
    words, spaces = ["Anna", "met", "Bob", "."], [True, True, False, False]
    text, head_char, word_chars = solid_head_text(words, spaces, (2, 3, "PER"), "untyped")
    assert text == "Anna met @ Bob @ ."
    assert text[head_char] == "@"
    assert [text[start:end] for start, end in word_chars] == words


@pytest.mark.parametrize(
    "head,tail,expected",
    [
        ((0, 1, "A"), (2, 3, "B"), "@ a b @ c # d # ."),
        ((2, 3, "B"), (0, 1, "A"), "# a # c @ d @ ."),
        ((0, 3, "A"), (1, 2, "B"), "@ a # c # d @ ."),
        ((0, 2, "A"), (1, 3, "B"), "@ a # c @ d # ."),
        ((0, 1, "A"), (0, 3, "B"), "# @ a @ c d # ."),
    ],
    ids=["before", "after", "nested", "overlapping", "same-start"],
)
def test_solid_text_places_markers(head, tail, expected) -> None:
    text, head_char, tail_char = solid_text(
        ["a", "c", "d", "."], [True, True, False, False], head, tail, "untyped"
    )
    assert text.replace("b ", "") == expected.replace("b ", "")
    assert (text[head_char], text[tail_char]) == ("@", "#")


def test_typed_marker_text() -> None:
    words, spaces = ["Anna", "met", "Bob"], [True, True, False]
    head, tail = (0, 1, "PER"), (2, 3, "ORG_NAME")
    text, head_char, tail_char = solid_text(words, spaces, head, tail, "typed")
    assert text == "@ * per * Anna @ met # ^ org name ^ Bob #"
    assert text[head_char:].startswith("@ *") and text[tail_char:].startswith("# ^")
    text, head_char, tail_char = solid_text(words, spaces, head, tail, "typed_tokens")
    assert text == "[H:PER] Anna [/H] met [T:ORG_NAME] Bob [/T]"
    assert text[head_char:].startswith("[H:") and text[tail_char:].startswith("[T:")


def test_marker_vocabulary_starts_from_the_punctuation_markers() -> None:
    assert dict(marker_vocabulary(["PER"])) == {
        "[H:PER]": "@ * per *",
        "[/H]": "@",
        "[T:PER]": "# ^ per ^",
        "[/T]": "#",
        "[H:entity]": "@ * entity *",
        "[T:entity]": "# ^ entity ^",
    }


def test_typed_marker_tokens(marker_bert: Path, tmp_path: Path) -> None:
    """One wordpiece a marker, solid and levitated, embedded at first as the mean of the
    punctuation markers' wordpieces; saved and loaded with the pipeline."""
    nlp = trained(marker_bert, steps=40, passes="levitated", markers="typed_tokens")
    examples = make_examples(nlp)
    assert nlp.evaluate(examples)["rel_micro_f"] == 1.0
    tokenizer, solid, levitated, n_text = marked_inputs(nlp)
    pieces = tokenizer.convert_ids_to_tokens(solid.input_ids[0])
    assert " ".join(pieces[1:6]) == "[H:PER] Anna Smith [/H] works"
    _, head, tail = solid.pair_rows[0]
    assert (pieces[head], pieces[tail]) == ("[H:PER]", "[T:ORG]")
    markers = tokenizer.convert_ids_to_tokens(levitated.input_ids[0][n_text:])
    assert markers == ["[H:PER]", "[/H]", "[T:ORG]", "[/T]"]
    untrained = make_nlp(marker_bert)
    untrained.add_pipe(
        "spanbert_rel", config=marker_model(marker_bert, markers="typed_tokens")
    ).initialize(lambda: examples, nlp=untrained)
    start = untrained.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    shim = start.layers[0].shims[0]
    weights = shim._model.get_input_embeddings().weight
    ids = shim._hfmodel.tokenizer(" @ * per *", add_special_tokens=False)["input_ids"]
    row = shim._hfmodel.tokenizer.convert_tokens_to_ids("[H:PER]")
    torch.testing.assert_close(weights[row], weights[ids].mean(dim=0))
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    text = DATA[0][0]
    before, after = get_relations(nlp(text)), get_relations(reloaded(text))
    assert [r.label for r in after] == [r.label for r in before]
    assert [r.score for r in after] == pytest.approx([r.score for r in before], abs=1e-5)


@pytest.mark.parametrize("decision", ["directed", "pair"])
def test_softmax_decisions(marker_bert: Path, decision: str) -> None:
    nlp = trained(marker_bert, steps=40, passes="levitated", markers="untyped")
    nlp.get_pipe("spanbert_rel").cfg["decision"] = decision
    doc = nlp(DATA[0][0])
    assert {(r.head.text, r.tail.text) for r in get_relations(doc)} <= {
        (h.text, t.text) for h in doc.ents for t in doc.ents if h != t
    }


def test_add_label_grows_a_trained_marker_model(marker_nlp: Language) -> None:
    rel = marker_nlp.get_pipe("spanbert_rel")
    old = rel.predict([marker_nlp(DATA[0][0])])[1]
    rel.add_label("Founded")
    try:
        new = rel.predict([marker_nlp(DATA[0][0])])[1]
        assert new.shape[1] == old.shape[1] + 1
        numpy.testing.assert_allclose(new[:, :-1], old, atol=1e-6)
    finally:
        rel.cfg["labels"].remove("Founded")


def test_int8_quantized_marker_encoder(marker_bert: Path, tmp_path: Path) -> None:
    nlp = trained(marker_bert, steps=30, passes="solid")
    nlp.to_disk(tmp_path)
    quantized = spacy.load(tmp_path, config={"components.spanbert_rel.model.quantize": "int8"})
    encoder = quantized.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    shim = encoder.layers[0].shims[0]
    linear = [m for m in shim._model.modules() if type(m) is torch.nn.Linear]
    assert shim.quantized and len(linear) < 12
    assert rel_tuples(quantized(DATA[0][0])) == rel_tuples(nlp(DATA[0][0]))


def test_levitated_positions_follow_roberta_offsets(tmp_path: Path) -> None:
    encoder_dir = write_family(tmp_path / "roberta", "roberta", "fast")
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_rel", config=marker_model(encoder_dir, passes="levitated"))
    doc = nlp.make_doc("Anna Smith works for Acme Corp in Paris today .")
    doc.ents = [Span(doc, 0, 2, label="PER"), Span(doc, 4, 6, label="ORG")]
    rel = nlp.get_pipe("spanbert_rel")
    rel.add_label("Work_For")
    nlp.initialize()
    encoder = rel.model.get_ref("marker_encoder")
    pairs = Ragged(numpy.array([[0, 2, 4, 6, 0, 0]], dtype="i"), numpy.array([1], dtype="i"))
    batch = levitated_sequences(encoder, [doc], pairs)
    module = encoder.layers[0].shims[0]._model
    module.eval()
    n_text = len(encoder.layers[0].shims[0]._hfmodel.tokenizer(doc.text)["input_ids"])
    ids = torch.tensor([batch.input_ids[0]])
    with torch.no_grad():
        marked = module(
            input_ids=ids,
            attention_mask=torch.tensor(batch.attention[0][None]),
            position_ids=torch.tensor([batch.position_ids[0]]),
        ).last_hidden_state[0, :n_text]
        plain = module(input_ids=ids[:, :n_text]).last_hidden_state[0]
    torch.testing.assert_close(marked, plain, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("passes", ["levitated", "packed"])
def test_levitated_is_refused_for_encoders_without_position_ids(
    tmp_path: Path, passes: str
) -> None:
    encoder_dir = write_family(tmp_path / "deberta", "deberta-v3", "fast")
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_rel", config=marker_model(encoder_dir, passes=passes))
    nlp.get_pipe("spanbert_rel").add_label("Work_For")
    with pytest.raises(ValueError, match=f'passes = "{passes}" needs an encoder.*deberta-v2'):
        nlp.initialize()


def test_bad_settings_are_refused(marker_bert: Path) -> None:
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="passes = 'flying'"):
        nlp.add_pipe("spanbert_rel", config=marker_model(marker_bert, passes="flying"))
