"""Trained components grow: a label added to a trained spanbert_ner, spanbert_rel or
spanbert_textcat keeps the other labels' weights, and training goes on through the data."""

from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
from spacy.cli.train import train as spacy_train
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import fix_random_seed
from thinc.api import Adam, Model

from spacy_spanbert import SpanNER, get_relations, set_relations

from .test_configs import CONFIGS, short_run
from .test_relation import make_examples, rel_tuples
from .test_span_ner import FLAT_DATA, span_tuples
from .util import make_nlp, transformer_config


def flat(nlp: Language, labels=None) -> List[Example]:
    examples = []
    for text, ents in FLAT_DATA:
        kept = [e for e in ents if labels is None or e[2] in labels]
        examples.append(Example.from_dict(nlp.make_doc(text), {"entities": kept}))
    return examples


def train(nlp: Language, examples: List[Example], n_iter: int, optimizer=None):
    fix_random_seed(0)
    if optimizer is None:
        optimizer = nlp.initialize(lambda: examples)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return optimizer


def output_params(nlp: Language, name: str):
    layer = nlp.get_pipe(name).model.get_ref("output_layer")
    return layer.get_param("W").copy(), layer.get_param("b").copy()


def test_add_label_keeps_the_trained_rows(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    train(nlp, flat(nlp, {"LOC", "PER"}), 30)
    ner = nlp.get_pipe("spanbert_ner")
    W, b = output_params(nlp, "spanbert_ner")
    assert ner.add_label("ORG") == 1 and ner.labels == ("LOC", "PER", "ORG")
    W2, b2 = output_params(nlp, "spanbert_ner")
    assert W2.shape[0] == W.shape[0] + 1
    numpy.testing.assert_array_equal(W2[:-1], W)
    numpy.testing.assert_array_equal(b2[:-1], b)
    assert not W2[-1].any() and b2[-1] == b[1:].min()  # the rarest label's prior
    assert ner.add_label("ORG") == 0


def test_new_label_through_the_data_then_round_trip(tiny_bert: Path, tmp_path: Path) -> None:
    nlp = make_nlp(tiny_bert)
    train(nlp, flat(nlp, {"LOC", "PER"}), 40)
    examples = flat(nlp)
    train(nlp, examples, 60, optimizer=Adam(0.001))  # ORG arrives with the data
    assert nlp.get_pipe("spanbert_ner").labels == ("LOC", "PER", "ORG")
    for eg in examples:
        assert span_tuples(nlp(eg.reference.text).ents) == span_tuples(eg.reference.ents)
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    assert reloaded.evaluate(examples)["ents_f"] == 1.0


def test_relation_label_added_after_training(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    nlp.add_pipe("spanbert_rel")
    examples = make_examples(nlp)
    known = [eg.copy() for eg in examples]
    for eg in known:  # train without Knows first
        set_relations(eg.reference, [r for r in get_relations(eg.reference) if r.label != "Knows"])
    train(nlp, known, 40)
    assert "Knows" not in nlp.get_pipe("spanbert_rel").labels
    train(nlp, examples, 80, optimizer=Adam(0.001))
    assert "Knows" in nlp.get_pipe("spanbert_rel").labels
    for eg in examples:
        assert rel_tuples(nlp(eg.reference.text)) == rel_tuples(eg.reference)


def test_textcat_label_added_after_training(tiny_bert: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(tiny_bert))
    textcat = nlp.add_pipe("spanbert_textcat")
    texts = ["I like London .", "Anna Smith works for Acme Corp in Paris today ."]
    examples = [Example.from_dict(nlp.make_doc(texts[0]), {"cats": {"A": 1.0}})]
    train(nlp, examples, 20)
    W = textcat.model.get_ref("output_layer").get_param("W").copy()
    examples.append(Example.from_dict(nlp.make_doc(texts[1]), {"cats": {"A": 0.0, "B": 1.0}}))
    examples[0].reference.cats["B"] = 0.0
    train(nlp, examples, 60, optimizer=Adam(0.001))
    assert textcat.labels == ("A", "B")
    W2 = textcat.model.get_ref("output_layer").get_param("W")
    assert W2.shape[0] == 2 and W.shape[0] == 1
    assert nlp(texts[1]).cats["B"] > 0.5 and nlp(texts[0]).cats["A"] > 0.5


def test_bad_labels_and_models_that_cannot_grow(tiny_bert: Path) -> None:
    nlp = make_nlp(tiny_bert)
    train(nlp, flat(nlp, {"LOC"}), 2)
    with pytest.raises(ValueError, match="without whitespace"):
        nlp.get_pipe("spanbert_ner").add_label("NEW LABEL")
    suggester = spacy.registry.misc.get("spacy.ngram_range_suggester.v1")(1, 2)
    custom = SpanNER(nlp.vocab, Model("no_output_layer", lambda m, X, t: (X, None)), suggester)
    with pytest.raises(ValueError, match="output layer can't be resized"):
        custom.add_label("ORG")
    assert custom.labels == ()  # nothing half-added


def test_spacy_train_sources_a_trained_pipeline_and_adds_a_label(
    tiny_spanbert: Path, tmp_path: Path
) -> None:
    """The recipe in docs/training.md: source the trained components, add the label through
    the data, train on."""
    nlp = spacy.blank("en")
    for name, labels in (("first", {"LOC", "PER"}), ("all", None)):
        docs = [eg.reference for eg in flat(nlp, labels)]
        DocBin(docs=docs).to_disk(tmp_path / f"{name}.spacy")
    spacy_train(
        CONFIGS / "ner.cfg",
        tmp_path / "first",
        overrides=short_run(tmp_path / "first.spacy", tiny_spanbert),
    )
    trained = tmp_path / "first" / "model-last"
    overrides = {
        **short_run(tmp_path / "all.spacy", tiny_spanbert),
        "components.transformer": {"source": str(trained)},
        "components.spanbert_ner": {"source": str(trained)},
    }
    spacy_train(CONFIGS / "ner.cfg", tmp_path / "more", overrides=overrides)
    grown = spacy.load(tmp_path / "more" / "model-last")
    assert grown.get_pipe("spanbert_ner").labels == ("LOC", "PER", "ORG")
