"""Shared fixtures: tiny local encoders, and the --runslow switch."""

from pathlib import Path
from typing import List

import pytest

from .util import write_tiny_bert


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
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
