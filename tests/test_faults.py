"""`annotate` killed for real and run out of disk: the rerun's output equals an uninterrupted
run's byte for byte, or the run fails in one clear line with its shards whole. A few kill
points here; `benchmarks/faults.py` sweeps many."""

import random
from pathlib import Path

import faults  # benchmarks/ (pytest's pythonpath)
import pytest


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


def test_sigkill_at_seeded_points_then_rerun_is_identical(work: Path) -> None:
    source = faults.write_input(work / "input.jsonl")
    expected = faults.reference(source, work, 1)
    assert sum(name.startswith("shard-") for name in expected) == 10
    rng = random.Random(0)
    for _ in range(2):
        point = faults.kill_and_rerun(source, work, 1, rng, expected)
        assert point["rerun_exit"] == 0
        assert point["identical"], point["differences"]


def test_disk_full_fails_in_one_line_and_the_rerun_is_identical(work: Path) -> None:
    source = faults.write_input(work / "long.jsonl", long_from=20)
    expected = faults.reference(source, work, 1)
    result = faults.disk_full(source, work, expected, limit=5_000)
    assert result["exit"] == 1
    assert "Could not write to" in result["message"] and "File too large" in result["message"]
    assert 0 < result["shards_written"] < 10
    assert result["written_shards_whole"] and not result["partial_files_left"]
    assert result["rerun_identical"]
