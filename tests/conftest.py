"""Shared fixtures: tiny local encoders, and the --runslow and --gpu switches."""

from pathlib import Path
from typing import List

import pytest

from .util import write_tiny_bert


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")
    parser.addoption(
        "--gpu", action="store_true", help="run every model on GPU 0 (spacy.require_gpu)"
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--gpu"):
        import spacy

        spacy.require_gpu(0)


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    skips = {}
    if not config.getoption("--runslow"):
        skips["slow"] = pytest.mark.skip(reason="slow: run with --runslow")
    if config.getoption("--gpu"):
        skips["cpu_only"] = pytest.mark.skip(reason="CPU only (see the test's marker)")
    for item in items:
        for keyword, skip in skips.items():
            if keyword in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cased tiny BERT with its tokenizer files, in the usual Hugging Face layout."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_spanbert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cased tiny BERT laid out like SpanBERT's release; its vocab is in ./tokenizer."""
    root = tmp_path_factory.mktemp("tiny-spanbert")
    write_tiny_bert(root / "model", spanbert_layout=True, tokenizer_dir=root / "tokenizer")
    return root
