"""configs/*.cfg train with `spacy train` on a local encoder given as an override."""

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Dict

import pytest
import spacy
from joint_intent_slots import flat_settings  # benchmarks/ (pytest's pythonpath)
from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train
from spacy.tokens import DocBin
from thinc.api import Config

from spacy_spanbert.relations import Relation, set_relations

from .test_span_ner import FLAT_DATA, NESTED_DATA

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
BENCHMARK_CONFIGS = CONFIGS.parent / "benchmarks" / "configs"


def write_corpus(path: Path, nested: bool) -> Path:
    nlp = spacy.blank("en")
    docs = []
    for i, (text, spans) in enumerate(NESTED_DATA if nested else FLAT_DATA):
        doc = nlp.make_doc(text)
        group = [doc.char_span(s, e, label=label) for s, e, label in spans]
        if nested:
            doc.spans["sc"] = group
        else:
            doc.ents = group
        doc.cats = {"A": float(i == 0), "B": float(i != 0)}  # for the joint config
        ents = list(doc.ents)
        if len(ents) > 1:  # for the relation config
            set_relations(doc, [Relation(ents[0], "Near", ents[1])])
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def short_run(corpus: Path, encoder: Path) -> Dict[str, Any]:
    """`spacy train` overrides: three steps on ``corpus`` (train and dev) with ``encoder``."""
    return {
        "paths.train": str(corpus),
        "paths.dev": str(corpus),
        "paths.encoder": str(encoder / "model"),
        "paths.tokenizer": str(encoder / "tokenizer"),
        "training.max_steps": 3,
        "training.eval_frequency": 3,
        "training.optimizer.learn_rate.warmup_steps": 1,
    }


@pytest.mark.parametrize(
    "name,nested",
    [("ner", False), ("spans", True), ("joint", True), ("rel", False), ("rel_markers", False)],
)
def test_config_trains_and_saves(
    tiny_spanbert: Path, tmp_path: Path, name: str, nested: bool
) -> None:
    overrides = short_run(write_corpus(tmp_path / "train.spacy", nested), tiny_spanbert)
    train(CONFIGS / f"{name}.cfg", tmp_path / "out", overrides=overrides)
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.pipe_names[:2] == ["transformer", "spanbert_ner"]
    assert nlp.get_pipe("transformer").model.tokenizer.tokenize("Paris") == ["Paris"]


def test_joint_config_with_spans_reading_the_predicted_cats(
    tiny_spanbert: Path, tmp_path: Path
) -> None:
    """joint.cfg with the joint benchmark's cats_conditioned overrides, as `spacy train`
    parses them from its command line."""
    settings = Config().from_disk(BENCHMARK_CONFIGS / "cats_conditioned.cfg")
    args = [f"--{key}={value}" for key, value in flat_settings(settings)]
    overrides = {
        **parse_config_overrides(args),
        **short_run(write_corpus(tmp_path / "train.spacy", nested=True), tiny_spanbert),
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"\[spanbert_ner\]")  # none of its warnings
        train(CONFIGS / "joint.cfg", tmp_path / "out", overrides=overrides)
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.pipe_names == ["transformer", "spanbert_textcat", "spanbert_ner"]
    assert nlp.get_pipe("spanbert_ner").model.get_ref("doc_cats").attrs["labels"] == ["A", "B"]


@pytest.mark.parametrize(
    "name",
    [
        "ner",
        "spans",
        "joint",
        "rel",
        "rel_given_entities",
        "rel_markers",
        "rel_given_entities_markers",
    ],
)
@pytest.mark.parametrize("command", ["config", "data"])
def test_shipped_config_passes_spacy_debug(
    tiny_spanbert: Path, tmp_path: Path, name: str, command: str
) -> None:
    """As shipped, given only the --paths.* overrides its header names."""
    corpus = write_corpus(tmp_path / "train.spacy", nested=name in ("spans", "joint"))
    paths = {
        "paths.train": corpus,
        "paths.dev": corpus,
        "paths.encoder": tiny_spanbert / "model",
        "paths.tokenizer": tiny_spanbert / "tokenizer",
    }
    args = [sys.executable, "-m", "spacy", "debug", command, str(CONFIGS / f"{name}.cfg")]
    args += [arg for key, value in paths.items() for arg in (f"--{key}", str(value))]
    result = subprocess.run(args, capture_output=True, text=True)
    assert "Config validation error" not in result.stdout, result.stdout
    if command == "config":
        assert result.returncode == 0, result.stdout + result.stderr
    else:  # its one error is the size of this two-doc corpus
        assert "Pipeline can be initialized with data" in result.stdout, result.stdout
        assert "Corpus is loadable" in result.stdout
        assert "✘ Low number of examples to train a new pipeline (2)" in result.stdout
        assert "✘ 1 error" in result.stdout


def test_given_entities_config_scores_real_relations_on_dev(
    tiny_spanbert: Path, tmp_path: Path
) -> None:
    """With no entity recogniser in the pipeline, dev relations are scored over the gold
    entities the augmenter puts on the docs: model-best is chosen on real scores."""
    overrides = {
        **short_run(write_corpus(tmp_path / "train.spacy", nested=False), tiny_spanbert),
        "training.max_steps": 60,
        "training.max_epochs": 0,
        "training.eval_frequency": 20,
        "training.optimizer.learn_rate.initial_rate": 0.001,
    }
    train(CONFIGS / "rel_given_entities.cfg", tmp_path / "out", overrides=overrides)
    meta = json.loads((tmp_path / "out" / "model-best" / "meta.json").read_text())
    assert meta["performance"]["rel_micro_f"] == 1.0
    nlp = spacy.load(tmp_path / "out" / "model-best")
    assert nlp.pipe_names == ["transformer", "spanbert_rel"]


def test_given_entities_markers_config_needs_no_shared_encoder(
    tiny_spanbert: Path, tmp_path: Path
) -> None:
    overrides = short_run(write_corpus(tmp_path / "train.spacy", nested=False), tiny_spanbert)
    train(CONFIGS / "rel_given_entities_markers.cfg", tmp_path / "out", overrides=overrides)
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.pipe_names == ["spanbert_rel"]
    encoder = nlp.get_pipe("spanbert_rel").model.get_ref("marker_encoder")
    assert encoder.attrs["passes"] == "levitated" and encoder.attrs["entity_labels"]
