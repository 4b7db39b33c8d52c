"""Benchmark training runs: only a run that finished with the same settings is reused."""

import subprocess
from pathlib import Path

import pytest
from thinc.api import Config

from .util import benchmark_module

common = benchmark_module("common")

OVERRIDES = {"training.max_steps": 600, "paths.train": Path("corpus") / "train.spacy"}


def test_finished_model_needs_the_record_of_a_finished_run(tmp_path: Path) -> None:
    (tmp_path / "model-last").mkdir()  # what a run killed after its first evaluation leaves
    assert common.finished_model(tmp_path, OVERRIDES) is None
    (tmp_path / common.FINISHED_RUN).write_text(
        '{"paths.train": "corpus/train.spacy", "training.max_steps": "600"}'
    )
    assert common.finished_model(tmp_path, OVERRIDES) == tmp_path / "model-last"
    assert common.finished_model(tmp_path, {**OVERRIDES, "training.max_steps": 150}) is None


def test_failed_training_run_clears_an_earlier_record(tmp_path: Path) -> None:
    (tmp_path / common.FINISHED_RUN).write_text("{}")
    with pytest.raises(subprocess.CalledProcessError):
        common.train(Config({"nlp": {"lang": "en", "pipeline": ["missing"]}}), tmp_path, {})
    assert not (tmp_path / common.FINISHED_RUN).exists()
