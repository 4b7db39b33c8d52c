"""Annotating a corpus: JSON Lines out with character offsets, bad records in the errors
file with their line, shards that a rerun resumes, and no mixing of shards."""

import json
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.language import Language
from typer.testing import CliRunner

from spacy_spanbert.annotate import AnnotateError, annotate
from spacy_spanbert.cli import app

from .test_relation import make_examples
from .util import make_nlp


@pytest.fixture(scope="module")
def model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spacy.util import fix_random_seed

    nlp = make_nlp(tiny_bert)
    nlp.add_pipe("spanbert_rel")
    examples = make_examples(nlp)
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(40):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    path = tmp_path_factory.mktemp("model")
    nlp.to_disk(path)
    return path


def write_input(path: Path) -> Path:
    lines = [
        json.dumps(
            {"id": "a", "text": "Anna Smith works for Acme Corp in Paris today .", "src": 1}
        ),
        "{not json",
        json.dumps({"id": "b", "body": "no text field"}),
        json.dumps({"id": "c", "text": ""}),
        json.dumps({"id": "d", "text": "Bob hired Anna Smith . Ünïcödé ✓"}),
        json.dumps({"id": "e", "text": " ".join(["London"] * 3000)}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def read_output(directory: Path) -> List[dict]:
    records = []
    for shard in sorted(directory.glob("shard-*.jsonl")):
        records += [json.loads(line) for line in shard.read_text(encoding="utf8").splitlines()]
    return sorted(records, key=lambda r: r["id"])


def assert_same_output(one_dir: Path, two_dir: Path) -> None:
    """The same documents, metadata, spans, labels and relations; scores within 1e-5
    (batching changes the lowest bits)."""
    one, two = read_output(one_dir), read_output(two_dir)
    assert [r["id"] for r in one] == [r["id"] for r in two]
    for a, b in zip(one, two):
        for key in ("entities", "spans"):
            assert [(s["start"], s["end"], s["label"]) for s in a[key]] == [
                (s["start"], s["end"], s["label"]) for s in b[key]
            ]
            assert [s["score"] for s in a[key]] == pytest.approx(
                [s["score"] for s in b[key]], abs=1e-5
            )
        assert [(r["head"], r["label"], r["tail"]) for r in a["relations"]] == [
            (r["head"], r["label"], r["tail"]) for r in b["relations"]
        ]
        assert a["meta"] == b["meta"] and a["cats"] == pytest.approx(b["cats"], abs=1e-5)


def test_output_offsets_errors_and_metadata(model: Path, tmp_path: Path) -> None:
    nlp = spacy.load(model)
    summary = annotate(nlp, write_input(tmp_path / "in.jsonl"), tmp_path / "out", shard_size=2)
    records = read_output(tmp_path / "out")
    assert [r["id"] for r in records] == ["a", "c", "d", "e"] and summary.documents == 4
    assert records[0]["meta"] == {"src": 1} and records[0]["version"] == 1
    for record in records:
        for span in record["entities"] + record["spans"]:
            assert record["text"][span["start"] : span["end"]]  # offsets into the text
        for rel in record["relations"]:
            assert 0.0 <= rel["score"] <= 1.0
    first = records[0]
    assert {e["label"] for e in first["entities"]} == {"PER", "ORG", "LOC"}
    assert all("score" in e for e in first["entities"])
    assert {(r["head"]["label"], r["label"], r["tail"]["label"]) for r in first["relations"]}
    errors = [
        json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()
    ]
    assert [e["source"].rsplit(":", 1)[1] for e in errors] == ["2", "3"]
    assert "expected text, found missing" in errors[1]["error"] and summary.errors == 2


def test_resume_after_a_crash_gives_the_same_output(model: Path, tmp_path: Path) -> None:
    nlp = spacy.load(model)
    source = write_input(tmp_path / "in.jsonl")
    annotate(nlp, source, tmp_path / "out", shard_size=2)
    before = read_output(tmp_path / "out")
    (tmp_path / "out" / "shard-00001.jsonl").unlink()  # the shard in flight when it crashed
    summary = annotate(nlp, source, tmp_path / "out", shard_size=2)
    assert summary.skipped_shards == 2 and read_output(tmp_path / "out") == before


def test_other_settings_are_never_mixed_into_the_shards(model: Path, tmp_path: Path) -> None:
    nlp = spacy.load(model)
    source = write_input(tmp_path / "in.jsonl")
    annotate(nlp, source, tmp_path / "out", shard_size=2)
    with pytest.raises(AnnotateError, match="another settings"):
        annotate(nlp, source, tmp_path / "out", shard_size=3)
    nlp.get_pipe("spanbert_ner").cfg["threshold"] = 0.9
    nlp.get_pipe_config("spanbert_ner")["threshold"] = 0.9
    with pytest.raises(AnnotateError, match="another model"):
        annotate(nlp, source, tmp_path / "out", shard_size=2)


def test_plain_text_and_the_command_line(model: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("Anna Smith works for Acme Corp .\n\nI like London .\n", encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(model), str(source), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    records = read_output(tmp_path / "out")
    assert [r["id"].rsplit(":", 1)[1] for r in records] == ["1", "2", "3"]
    assert "Annotated 3 documents" in result.output


def test_parquet_input(model: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"id": ["p1", "p2"], "text": ["I like London .", None]})
    pq.write_table(table, tmp_path / "in.parquet")
    summary = annotate(spacy.load(model), tmp_path / "in.parquet", tmp_path / "out")
    assert [r["id"] for r in read_output(tmp_path / "out")] == ["p1"] and summary.errors == 1


def test_n_process_two_gives_the_same_output(model: Path, tmp_path: Path) -> None:
    nlp: Language = spacy.load(model)
    source = write_input(tmp_path / "in.jsonl")
    annotate(nlp, source, tmp_path / "one", shard_size=2)
    annotate(nlp, source, tmp_path / "two", shard_size=2, n_process=2)
    assert_same_output(tmp_path / "one", tmp_path / "two")


def test_a_rerun_in_a_new_process_recognises_the_model(model: Path) -> None:
    from spacy_spanbert.annotate import model_identity

    assert model_identity(spacy.load(model)) == model_identity(spacy.load(model))


def test_annotate_frees_each_shards_strings(model: Path, tmp_path: Path) -> None:
    nlp = spacy.load(model)
    source = tmp_path / "orders.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": str(i), "text": f"Order X{i}Q{i * 7} from user{i}@mail{i}.com"})
            + "\n"
            for i in range(300)
        ),
        encoding="utf8",
    )
    annotate(nlp, source, tmp_path / "warm", shard_size=100)  # labels, caches
    before = len(nlp.vocab.strings)
    source.write_text(
        "".join(
            json.dumps({"id": str(i), "text": f"Ordre Z{i}K{i * 3} de client{i}@post{i}.org"})
            + "\n"
            for i in range(300)
        ),
        encoding="utf8",
    )
    summary = annotate(nlp, source, tmp_path / "out", shard_size=100)
    assert summary.documents == 300
    assert len(nlp.vocab.strings) == before


def test_a_truncated_manifest_is_one_clear_error(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = write_input(tmp_path / "in.jsonl")
    annotate(spacy.load(model), source, out)
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text()[:20])
    with pytest.raises(AnnotateError, match="manifest.json is not the JSON annotate writes"):
        annotate(spacy.load(model), source, out)
    assert not list(out.glob(".*.partial"))
