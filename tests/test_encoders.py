"""Local encoder loading: SpanBERT's layout, casing that follows the vocabulary, clear errors."""

import json
import shutil
from pathlib import Path

import pytest
import spacy

from spacy_spanbert.encoders import EncoderError, load_local_encoder

from .util import make_nlp, write_tiny_bert


def tokenize(hf_tokenizer, text: str):
    return hf_tokenizer.tokenize(text)


def test_spanbert_layout_loads_with_separate_tokenizer(tiny_spanbert: Path) -> None:
    assert not (tiny_spanbert / "model" / "vocab.txt").exists()
    assert "model_type" not in json.loads((tiny_spanbert / "model" / "config.json").read_text())
    hf = load_local_encoder(tiny_spanbert / "model", tokenizer_path=tiny_spanbert / "tokenizer")
    assert hf.transformer.config.model_type == "bert"
    # fp16 weights on disk are loaded as fp32
    assert next(hf.transformer.parameters()).dtype.is_floating_point
    assert str(next(hf.transformer.parameters()).dtype) == "torch.float32"
    # cased vocabulary, no tokenizer config: casing must follow the vocabulary, not BERT's default
    assert tokenize(hf.tokenizer, "Paris") == ["Paris"]


def test_casing_mismatch_is_refused(tiny_spanbert: Path) -> None:
    with pytest.raises(EncoderError, match="do_lower_case"):
        load_local_encoder(
            tiny_spanbert / "model",
            tokenizer_path=tiny_spanbert / "tokenizer",
            tokenizer_config={"do_lower_case": True},
        )


def test_uncased_vocabulary_lowercases(tmp_path: Path) -> None:
    directory = write_tiny_bert(tmp_path / "uncased", cased=False)
    hf = load_local_encoder(directory)
    assert tokenize(hf.tokenizer, "Paris") == ["paris"]


def test_missing_tokenizer_says_what_to_add(tiny_spanbert: Path) -> None:
    with pytest.raises(EncoderError, match="tokenizer = "):
        load_local_encoder(tiny_spanbert / "model")


@pytest.mark.parametrize("path", [None, "/nonexistent/encoder"])
def test_missing_encoder_directory(path) -> None:
    with pytest.raises(EncoderError, match="encoder checkpoint"):
        load_local_encoder(path)


def test_missing_config_json(tiny_bert: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bert, broken)
    (broken / "config.json").unlink()
    with pytest.raises(EncoderError, match="config.json"):
        load_local_encoder(broken)


def test_spanbert_pipeline_keeps_casing_after_save_and_reload(
    tiny_spanbert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(tiny_spanbert, checkpoint)
    nlp = make_nlp(checkpoint / "model", checkpoint / "tokenizer")
    nlp.get_pipe("spanbert_ner").add_label("LOC")
    nlp.initialize()
    assert tokenize(nlp.get_pipe("transformer").model.tokenizer, "Paris") == ["Paris"]
    nlp.to_disk(tmp_path / "pipeline")
    # the saved pipeline needs neither the checkpoint nor the tokenizer dir, nor the hub
    shutil.rmtree(checkpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert tokenize(reloaded.get_pipe("transformer").model.tokenizer, "Paris") == ["Paris"]
    doc = reloaded("Anna Smith works in Paris .")
    assert doc._.trf_data is not None
