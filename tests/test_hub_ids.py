"""Encoders named by Hugging Face hub id: read from the cache with no network, SpanBERT's ids
paired with their vocabulary, and clear errors where an id can't be had."""

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest
from huggingface_hub import constants
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

from spacy_spanbert import encoders
from spacy_spanbert.encoders import EncoderError

from .hub_cache import add_to_hub_cache
from .util import write_tiny_bert

# Builds transformer + spanbert_ner on a hub id and prints how "Paris" is tokenized.
LOAD_BY_ID = """
import json, sys, spacy
from spacy.training import Example
nlp = spacy.blank("en")
nlp.add_pipe("transformer", config={"model": {
    "@architectures": "spacy_spanbert.TransformerModel.v1", "name": sys.argv[1],
    "get_spans": {
        "@span_getters": "spacy-transformers.strided_spans.v1", "window": 32, "stride": 24}}})
nlp.add_pipe("spanbert_ner")
doc = nlp.make_doc("John lives in Paris")
nlp.initialize(lambda: [Example.from_dict(doc, {"entities": [(0, 4, "PER")]})])
tokenizer = nlp.get_pipe("transformer").model.tokenizer
print(json.dumps(tokenizer.tokenize("Paris")))
"""


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding SpanBERT/spanbert-base-cased (SpanBERT's layout: weights and config, no
    tokenizer) and bert-base-cased (a cased vocabulary with its tokenizer files)."""
    root = tmp_path_factory.mktemp("hub")
    write_tiny_bert(root / "spanbert", spanbert_layout=True, tokenizer_dir=root / "vocab")
    write_tiny_bert(root / "bert-base-cased")
    cache = root / "cache"
    add_to_hub_cache(cache, "SpanBERT/spanbert-base-cased", root / "spanbert")
    add_to_hub_cache(cache, "bert-base-cased", root / "bert-base-cased")
    return cache


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def run_load(name: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOAD_BY_ID, name],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def hub_env(cache: Path, **extra: str) -> Dict[str, str]:
    return {"HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent / "home"), **extra}


@pytest.mark.parametrize("offline", [True, False])
def test_cached_spanbert_id_loads_with_its_vocabulary_and_keeps_case(
    hub_cache: Path, closed_port: int, offline: bool
) -> None:
    env = hub_env(hub_cache, HF_ENDPOINT=f"http://127.0.0.1:{closed_port}")
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    with socket.socket() as listener:  # counts any connection the load makes to the hub
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = run_load("SpanBERT/spanbert-base-cased", env)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["Paris"]
    assert "using bert-base-cased's vocabulary, case kept" in " ".join(result.stdout.split())


@pytest.mark.parametrize("offline", [True, False])
def test_id_not_cached_fails_fast_naming_the_id_the_cache_and_the_ways_out(
    hub_cache: Path, closed_port: int, offline: bool
) -> None:
    env = hub_env(hub_cache, HF_ENDPOINT=f"http://127.0.0.1:{closed_port}")
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    result = run_load("roberta-base", env)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("spacy_spanbert.encoders.EncoderError: The encoder checkpoint")
    assert "'roberta-base'" in message and str(hub_cache) in message
    assert "huggingface-cli download roberta-base" in message
    assert ("switched off" if offline else "can't be reached") in message


@pytest.mark.parametrize(
    "error,expected",
    [
        (GatedRepoError("gated"), "is gated on the Hugging Face hub"),
        (RevisionNotFoundError("no revision"), "has no revision 'v9'"),
        (RepositoryNotFoundError("not found"), "has no public model of that id"),
    ],
)
def test_hub_answers_become_clear_messages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: Exception, expected: str
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))

    def answer(self, repo_id, **kwargs):
        raise error

    monkeypatch.setattr(encoders.HfApi, "model_info", answer)
    with pytest.raises(EncoderError, match=expected):
        encoders.resolve_checkpoint("org/model", "encoder checkpoint", "name", revision="v9")


@pytest.mark.parametrize("name", ["./no/such/dir", "/no/such/dir", "a/b/c"])
def test_neither_directory_nor_hub_id(name: str) -> None:
    with pytest.raises(EncoderError, match="neither a local directory nor a Hugging Face hub id"):
        encoders.resolve_checkpoint(name, "encoder checkpoint", "name")


def test_tokenizer_larger_than_the_embeddings_is_refused(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path / "model")
    config_file = tmp_path / "model" / "config.json"
    config = json.loads(config_file.read_text())
    config["vocab_size"] = 10
    config_file.write_text(json.dumps(config))
    with pytest.raises(EncoderError, match="embeds only 10"):
        encoders.load_encoder(tmp_path / "model")
