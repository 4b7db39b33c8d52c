"""The command line: convert writes a DocBin and a summary; bad input exits with file:line."""

from pathlib import Path

import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_spanbert.cli import app

RUNNER = CliRunner()


def test_convert_conll(tmp_path: Path) -> None:
    source = tmp_path / "in.conll"
    source.write_text("-DOCSTART- -X- -X- O\n\nEU B-ORG\nrejects O\n\nPeter B-PER\nBlack I-PER\n")
    result = RUNNER.invoke(app, ["convert", "conll", str(source), str(tmp_path / "out.spacy")])
    assert result.exit_code == 0, result.output
    assert "2 sentences" in result.output and "Wrote 1 documents" in result.output
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("en").vocab))
    assert [(e.text, e.label_) for e in docs[0].ents] == [("EU", "ORG"), ("Peter Black", "PER")]


def test_convert_bad_input_names_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.conll"
    source.write_text("EU B-ORG\nrejects I-MISC\n")
    result = RUNNER.invoke(
        app, ["convert", "conll", str(source), str(tmp_path / "out.spacy"), "--scheme", "iob2"]
    )
    assert result.exit_code == 1
    assert f"{source}:2" in result.output
    assert not (tmp_path / "out.spacy").exists()
