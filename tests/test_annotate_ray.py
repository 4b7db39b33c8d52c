"""The Ray engine: the same shards as the local engine, planned without parsing, and the
same output from a local Ray instance with two actors, bad lines included."""

import gzip
import itertools
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, List

import pytest
import spacy

from spacy_spanbert.annotate import AnnotateError, annotate, read_records
from spacy_spanbert.annotate_ray import annotate_with_ray, plan_shards

from .test_annotate import assert_same_output, model, read_output, write_input  # noqa: F401

TEXTS = [
    "Anna Smith works for Acme Corp in Paris .",
    "Bob hired Anna Smith .",
    "I like London . Ünïcödé ✓",
    "",
]


def write_corpus(path: Path, n: int) -> Path:
    lines = []
    for i in range(n):
        if i % 37 == 5:
            lines.append("{broken json")
        else:
            lines.append(json.dumps({"id": f"doc{i:04d}", "text": TEXTS[i % 4], "n": i}))
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def shard_records(path: Path, shard_size: int) -> list:
    records = list(read_records(path))
    return [records[i : i + shard_size] for i in range(0, len(records), shard_size)]


@pytest.mark.parametrize("kind", ["jsonl", "gzip", "folder", "text", "parquet"])
def test_planned_shards_are_the_local_engines_shards(tmp_path: Path, kind: str) -> None:
    from spacy_spanbert.annotate import file_records

    source = write_corpus(tmp_path / "in.jsonl", 23)
    if kind == "gzip":
        data = source.read_bytes()
        source = tmp_path / "in.jsonl.gz"
        source.write_bytes(gzip.compress(data))
        source = source.rename(tmp_path / "gz.jsonl")
    elif kind == "folder":
        folder = tmp_path / "folder"
        folder.mkdir()
        write_corpus(folder / "a.jsonl", 7)
        write_corpus(folder / "b.jsonl", 9)
        source = folder
    elif kind == "text":
        source = tmp_path / "in.txt"
        source.write_text("\n".join(TEXTS * 5) + "\n", encoding="utf8")
    elif kind == "parquet":
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        source = tmp_path / "in.parquet"
        table = pa.table({"id": [str(i) for i in range(23)], "text": (TEXTS * 6)[:23]})
        pq.write_table(table, source, row_group_size=5)
    planned = [
        [
            record
            for path, offset, first, count in shard
            for record in itertools.islice(
                file_records(Path(path), offset=offset, first=first), count
            )
        ]
        for shard in plan_shards(source, 5)
    ]
    assert planned == shard_records(source, 5)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


def test_ray_and_local_engines_give_the_same_output(
    model: Path,  # noqa: F811
    tmp_path: Path,
    local_ray,
) -> None:
    source = write_corpus(tmp_path / "in.jsonl", 300)
    local = annotate(spacy.load(model), source, tmp_path / "local", shard_size=40)
    on_ray = annotate_with_ray(
        model, source, tmp_path / "ray", shard_size=40, actors=2, cpus_per_actor=0.5
    )
    assert (on_ray.documents, on_ray.errors) == (local.documents, local.errors) == (292, 8)
    assert on_ray.entities == local.entities and on_ray.relations == local.relations
    assert_same_output(tmp_path / "local", tmp_path / "ray")
    errors = (tmp_path / "ray" / "errors.jsonl").read_text()
    assert errors == (tmp_path / "local" / "errors.jsonl").read_text()
    assert json.loads(errors.splitlines()[0])["source"].endswith("in.jsonl:6")


def test_ray_resumes_what_the_local_engine_left(
    model: Path,  # noqa: F811
    tmp_path: Path,
    local_ray,
) -> None:
    source = write_input(tmp_path / "in.jsonl")
    annotate(spacy.load(model), source, tmp_path / "out", shard_size=2)
    before = read_output(tmp_path / "out")
    (tmp_path / "out" / "shard-00001.jsonl").unlink()  # the shard in flight when it crashed
    summary = annotate_with_ray(model, source, tmp_path / "out", shard_size=2)
    assert summary.skipped_shards == 2 and summary.errors == 2
    after = read_output(tmp_path / "out")
    assert [r["id"] for r in after] == [r["id"] for r in before]


def actor_processes() -> List[Any]:
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "ShardAnnotator" in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def kill_actors(stop: threading.Event, after: Path, once: bool, killed: List[int]) -> None:
    """SIGKILL ShardAnnotator actors once ``after`` has a shard (``once``: one kill)."""
    while not stop.is_set() and not list(after.glob("shard-*.jsonl")):
        time.sleep(0.01)
    while not stop.is_set():
        for process in actor_processes():
            if process.pid not in killed:
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)
                if once:
                    return
        time.sleep(0.01)


def test_a_killed_actor_is_restarted_and_the_output_is_identical(
    model: Path,  # noqa: F811
    tmp_path: Path,
    local_ray,
) -> None:
    source = write_corpus(tmp_path / "in.jsonl", 300)
    annotate_with_ray(model, source, tmp_path / "whole", shard_size=20, actors=1)
    stop, killed = threading.Event(), []  # type: ignore[var-annotated]
    killer = threading.Thread(target=kill_actors, args=(stop, tmp_path / "killed", True, killed))
    killer.start()
    summary = annotate_with_ray(model, source, tmp_path / "killed", shard_size=20, actors=1)
    stop.set()
    killer.join()
    assert len(killed) == 1
    # a shard the killed actor had finished is found written by the retry, and skipped
    assert summary.documents > 0
    whole, again = (
        {p.name: p.read_bytes() for p in sorted((tmp_path / name).rglob("*")) if p.is_file()}
        for name in ("whole", "killed")
    )
    assert whole == again


def test_an_actor_that_always_dies_ends_the_run_in_one_line(
    model: Path,  # noqa: F811
    tmp_path: Path,
    local_ray,
) -> None:
    source = write_corpus(tmp_path / "in.jsonl", 300)
    out = tmp_path / "out"
    stop, killed = threading.Event(), []  # type: ignore[var-annotated]
    first_shard = out / "shard-00000.jsonl"
    annotate_with_ray(model, source, out, shard_size=20, actors=1)
    first = first_shard.read_bytes()
    for shard in out.glob("shard-*.jsonl"):
        if shard != first_shard:
            shard.unlink()
    killer = threading.Thread(target=kill_actors, args=(stop, out, False, killed))
    killer.start()
    try:
        with pytest.raises(AnnotateError, match=r"a Ray actor died on a shard 4 times"):
            annotate_with_ray(model, source, out, shard_size=20, actors=1)
    finally:
        stop.set()
        killer.join()
    assert len(killed) >= 4
    assert first_shard.read_bytes() == first  # what was written stays whole
