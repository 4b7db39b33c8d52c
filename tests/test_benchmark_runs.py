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


@pytest.mark.parametrize("gpu_id,name", [(-1, "demo.json"), (0, "demo-gpu.json")])
def test_gpu_results_never_replace_cpu_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gpu_id: int, name: str
) -> None:
    monkeypatch.setattr(common, "ROOT", tmp_path)
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(common.sys, "argv", [str(tmp_path / "demo.py")])
    monkeypatch.setitem(common._device, "gpu_id", gpu_id)
    monkeypatch.setattr(common, "machine", lambda: "test machine")
    path = common.write_results("demo", "full", {"systems": {}})
    assert path == tmp_path / "results" / name
    assert [p.name for p in path.parent.iterdir()] == [name]
    assert '"machine": "test machine"' in path.read_text()


def test_train_passes_the_gpu_to_spacy_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr(common.subprocess, "run", lambda args, check: calls.append(args))
    monkeypatch.setitem(common._device, "gpu_id", 0)
    common.train(Config({"nlp": {"lang": "en"}}), tmp_path, {"training.max_steps": 5})
    assert calls[0][calls[0].index("--gpu-id") + 1] == "0"
