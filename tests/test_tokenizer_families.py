"""Every tokenizer family works with every head: BERT WordPiece (cased, uncased), RoBERTa
byte-level BPE, SentencePiece (XLM-R, DeBERTa-v3) and ELECTRA, each saved as on the hub."""

from pathlib import Path
from typing import Dict, List

import numpy
import pytest
import spacy
from huggingface_hub import constants
from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_spanbert import get_relations
from spacy_spanbert.encoders import EncoderError, load_encoder

from .test_relation import make_examples, rel_tuples
from .tokenizer_families import FAMILIES, LAYOUTS, write_family
from .util import transformer_config

CASED = {"bert-cased", "roberta", "xlm-roberta", "deberta-v3"}
HEADS = ("spanbert_ner", "spanbert_rel", "spanbert_textcat")


def all_heads(encoder: Path) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(encoder))
    for head in HEADS:
        nlp.add_pipe(head)
    return nlp


def examples_with_cats(nlp: Language) -> List[Example]:
    examples = make_examples(nlp)
    for i, eg in enumerate(examples):
        eg.reference.cats = {"A": float(i % 2 == 0), "B": float(i % 2 == 1)}
    return examples


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Language]:
    """A pipeline with all three heads per family, overfitted on the same examples; its
    checkpoint has a tokenizer.json only (the slow files are tested in the layouts test)."""
    pipelines = {}
    for family in FAMILIES:
        encoder = write_family(tmp_path_factory.mktemp(family), family, "fast")
        nlp = all_heads(encoder)
        examples = examples_with_cats(nlp)
        fix_random_seed(0)
        optimizer = nlp.initialize(lambda examples=examples: examples)
        for _ in range(80):
            nlp.update(examples, sgd=optimizer, drop=0.0)
        pipelines[family] = nlp
    return pipelines


def annotation(doc, head: str):
    """What ``head`` writes, read from a doc: entities, relations, or the top cat."""
    if head == "spanbert_ner":
        return sorted((e.start_char, e.end_char, e.label_) for e in doc.ents)
    if head == "spanbert_rel":
        return rel_tuples(doc)
    return max(doc.cats, key=lambda label: doc.cats[label])


def predictions(nlp: Language, head: str) -> list:
    return [annotation(nlp(eg.reference.text), head) for eg in examples_with_cats(nlp)]


def gold(nlp: Language, head: str) -> list:
    return [annotation(eg.reference, head) for eg in examples_with_cats(nlp)]


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("family", FAMILIES)
def test_overfitting_IO(
    trained: Dict[str, Language],
    family: str,
    head: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nlp = trained[family]
    assert predictions(nlp, head) == gold(nlp, head)
    nlp.to_disk(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    reloaded = spacy.load(tmp_path)
    assert predictions(reloaded, head) == gold(nlp, head)
    if head == "spanbert_rel":
        text = examples_with_cats(nlp)[0].reference.text
        scores = [r.score for r in get_relations(nlp(text))]
        assert numpy.allclose(scores, [r.score for r in get_relations(reloaded(text))], atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_layout_initializes_keeps_case_and_round_trips(
    tmp_path: Path, family: str, layout: str
) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(write_family(tmp_path, family, layout)))
    nlp.add_pipe("spanbert_ner")
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    tokenizer = nlp.get_pipe("transformer").model.tokenizer
    first = "".join(tokenizer.tokenize("Anna")).lstrip("Ġ▁")
    assert first[0] == ("A" if family in CASED else "a")
    text = examples[0].reference.text
    reloaded = spacy.blank("en").from_config(nlp.config)
    reloaded.from_bytes(nlp.to_bytes())
    doc, doc2 = nlp(text), reloaded(text)
    assert numpy.allclose(doc2.spans["sc"].attrs["scores"], doc.spans["sc"].attrs["scores"])


@pytest.mark.parametrize(
    "weights,vocabulary",
    [("bert-cased", "roberta"), ("roberta", "bert-cased"), ("xlm-roberta", "bert-cased")],
)
def test_tokenizer_of_another_family_is_refused(
    tmp_path: Path, weights: str, vocabulary: str
) -> None:
    model = write_family(tmp_path / "model", weights, "both")
    tokenizer = write_family(tmp_path / "tokenizer", vocabulary, "both")
    with pytest.raises(EncoderError, match="tokenizer to the encoder's own vocabulary"):
        load_encoder(model, tokenizer=tokenizer)


@pytest.mark.parametrize("family,do_lower_case", [("electra", False), ("bert-cased", True)])
def test_casing_against_the_vocabulary_is_refused(
    tmp_path: Path, family: str, do_lower_case: bool
) -> None:
    model = write_family(tmp_path, family, "slow")
    with pytest.raises(EncoderError, match="do_lower_case"):
        load_encoder(model, tokenizer_config={"do_lower_case": do_lower_case})


def test_heads_work_with_spacy_transformers_own_model(tmp_path: Path) -> None:
    """A user's existing config: spacy-transformers.TransformerModel.v3 on a local checkpoint."""
    encoder = write_family(tmp_path, "roberta", "both")
    config = transformer_config(encoder)
    config["model"] = {
        "@architectures": "spacy-transformers.TransformerModel.v3",
        "name": str(encoder),
        "get_spans": config["model"]["get_spans"],
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=config)
    nlp.add_pipe("spanbert_ner")
    examples = make_examples(nlp)
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    assert predictions(nlp, "spanbert_ner") == gold(nlp, "spanbert_ner")
