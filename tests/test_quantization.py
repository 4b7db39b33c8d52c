"""int8 inference: the encoder quantized when a saved pipeline is loaded, the heads in fp32."""

from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from torch import nn

from spacy_spanbert import quantization
from spacy_spanbert.quantization import has_vnni, quantize_linear_layers

from .test_span_ner import SPANS_KEY, flat_examples, train
from .util import make_nlp

INT8 = {"components.transformer.model.quantize": "int8"}


def encoder(nlp: Language) -> nn.Module:
    return nlp.get_pipe("transformer").model.transformer


def linear_layers(module: nn.Module) -> int:
    return sum(type(layer) is nn.Linear for layer in module.modules())


@pytest.fixture(scope="module")
def saved(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    nlp = make_nlp(tiny_bert)
    train(nlp, flat_examples(nlp))
    path = tmp_path_factory.mktemp("fp32")
    nlp.to_disk(path)
    return path


@pytest.mark.parametrize("vnni", [True, False])
def test_int8_at_load_quantizes_the_encoder_and_keeps_predictions(
    saved: Path, vnni: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantization, "has_vnni", lambda: vnni)
    fp32 = spacy.load(saved)
    int8 = spacy.load(saved, config=INT8)
    assert linear_layers(encoder(fp32)) > 0
    # with VNNI every Linear is quantized; without, each feed-forward output projection stays
    n_layers = len(encoder(fp32).encoder.layer)
    assert linear_layers(encoder(int8)) == (0 if vnni else n_layers)
    assert (type(encoder(int8).encoder.layer[0].output.dense) is nn.Linear) is not vnni
    assert type(encoder(int8).encoder.layer[0].intermediate.dense) is not nn.Linear
    assert int8.config["components"]["transformer"]["model"]["quantize"] == "int8"
    texts = [eg.reference.text for eg in flat_examples(fp32)]
    for doc32, doc8 in zip(fp32.pipe(texts), int8.pipe(texts)):
        assert [(e.start, e.end, e.label_) for e in doc8.ents] == [
            (e.start, e.end, e.label_) for e in doc32.ents
        ]
        scores32, scores8 = (d.spans[SPANS_KEY].attrs["scores"] for d in (doc32, doc8))
        assert numpy.abs(scores32 - scores8).max() < 0.1
    # the saved pipeline stays fp32; a quantized one refuses to be saved over it
    assert linear_layers(encoder(spacy.load(saved))) > 0
    with pytest.raises(ValueError, match="can't be saved"):
        int8.to_bytes()


def test_unknown_quantize_value_and_layers_kept_in_fp32(saved: Path) -> None:
    with pytest.raises(Exception, match="quantize = 'int4'"):
        spacy.load(saved, config={"components.transformer.model.quantize": "int4"})
    module = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    quantize_linear_layers(module, keep_fp32=["^2$"])
    assert type(module[0]) is not nn.Linear and type(module[2]) is nn.Linear


@pytest.mark.skipif(not has_vnni(), reason="8-bit activations need AVX-512 VNNI")
def test_8_bit_activations_are_closer_to_fp32_than_7_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(64, 32)
    x = torch.randn(16, 64)
    expected = layer(x).detach()
    int8 = quantize_linear_layers(nn.Sequential(layer))
    errors = []
    for vnni in (True, False):
        monkeypatch.setattr(quantization, "has_vnni", lambda vnni=vnni: vnni)
        errors.append(float((int8(x) - expected).abs().mean()))
    assert errors[0] < 0.75 * errors[1]
