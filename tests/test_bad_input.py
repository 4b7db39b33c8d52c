"""Nothing invalid passes as success: every case a careless user produces either works or
fails in one clear line, with a non-zero exit, no traceback and no output written."""

import gzip
import json
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_spanbert.cli import app, main
from spacy_spanbert.corpus import CorpusError, CorpusSummary, read_conll
from spacy_spanbert.corpus.nested_json import read_nested_json
from spacy_spanbert.corpus.raw_text import read_raw_text
from spacy_spanbert.corpus.relations_json import read_relations_json

RUNNER = CliRunner()
VOCAB = spacy.blank("en").vocab
BOM = "\ufeff"


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf8")
    return path


def convert(fmt: str, source: Path, out: Path, *options: str):
    return RUNNER.invoke(app, ["convert", fmt, str(source), str(out), *options])


def ents(docs) -> List[tuple]:
    return [(e.text, e.label_) for doc in docs for e in doc.ents]


# --- byte-order marks --------------------------------------------------------------------


def test_bom_is_stripped_from_conll(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conll", BOM + "-DOCSTART- -X- -X- O\n\nJohn B-PER\nran O\n")
    docs = read_conll(path, VOCAB)
    assert [t.text for t in docs[0]] == ["John", "ran"] and ents(docs) == [("John", "PER")]


def test_bom_is_stripped_from_raw_text_and_json(tmp_path: Path) -> None:
    assert list(read_raw_text(write(tmp_path / "t.txt", BOM + "John ran\n"))) == ["John ran"]
    record = {"tokens": ["John"], "entity_mentions": [{"start": 0, "end": 1, "entity_type": "P"}]}
    nested = write(tmp_path / "n.jsonl", BOM + json.dumps(record) + "\n")
    assert read_nested_json(nested, VOCAB)[0][0].text == "John"
    rel = write(tmp_path / "r.json", BOM + json.dumps([{"tokens": ["John"], "entities": []}]))
    assert read_relations_json(rel, VOCAB)[0][0].text == "John"


# --- empty input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,content,reason",
    [
        ("conll", "", "the file is empty"),
        ("conll", "-DOCSTART- -X- -X- O\n\n-DOCSTART- -X- -X- O\n", "only document separators"),
        ("nested-json", "", "the file is empty"),
        ("nested-json", "\n\n", "only blank lines"),
        ("relations-json", "[]", "its JSON list of records is empty"),
        ("raw-text", "", "the file is empty"),
        ("raw-text", "\n  \n", "only blank lines"),
    ],
)
def test_empty_input_is_an_error_and_writes_nothing(
    tmp_path: Path, fmt: str, content: str, reason: str
) -> None:
    out = tmp_path / "out.spacy"
    result = convert(fmt, write(tmp_path / "in", content), out)
    assert result.exit_code == 1
    assert "No documents in" in result.output and reason in " ".join(result.output.split())
    assert not out.exists()


def test_failed_conversion_keeps_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "out.spacy"
    assert convert("conll", write(tmp_path / "good", "EU B-ORG\n"), out).exit_code == 0
    before = out.read_bytes()
    assert convert("conll", write(tmp_path / "bad", "EU B-ORG x\nit O\n"), out).exit_code == 1
    assert out.read_bytes() == before


# --- tag schemes -------------------------------------------------------------------------


def iob2_file(tmp_path: Path, stray_at: int = 0) -> Path:
    """200 sentences in IOB2; with ``stray_at``, sentence ``stray_at`` opens with I-ORG."""
    lines = []
    for i in range(200):
        tag = "I-ORG" if i == stray_at and stray_at else "B-ORG"
        lines += [f"Acme {tag}", "Corp I-ORG", "rose O", ""]
    return write(tmp_path / "iob2.conll", "\n".join(lines))


def test_a_stray_tag_in_an_iob2_file_is_an_error_naming_its_line(tmp_path: Path) -> None:
    path = iob2_file(tmp_path, stray_at=150)
    with pytest.raises(CorpusError, match="'I-ORG' to continue an open ORG entity") as err:
        read_conll(path, VOCAB)
    assert err.value.line == 150 * 4 + 1
    assert "--scheme iob1" in str(err.value) and "--lenient" in str(err.value)
    assert "scheme=" not in str(err.value) and "expected expected" not in str(err.value)


def test_lenient_repairs_the_stray_tag_and_says_why_iob2(tmp_path: Path) -> None:
    path = iob2_file(tmp_path, stray_at=150)
    summary = CorpusSummary(str(path))
    docs = read_conll(path, VOCAB, lenient=True, summary=summary)
    assert len(ents(docs)) == 200
    assert summary.repairs == [f"{path}:601: 'I-ORG' with no ORG entity open; started one"]
    assert summary.notes[0] == (
        "tag scheme: iob2 (auto: 199 entities open with B-, 1 with I- (invalid in IOB2) at "
        "line 601)"
    )


def test_iob1_is_decided_by_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path / "iob1.conll", "EU I-ORG\nUN B-ORG\nrejects O\n\nBonn I-LOC\n")
    summary = CorpusSummary(str(path))
    docs = read_conll(path, VOCAB, summary=summary)
    assert ents(docs) == [("EU", "ORG"), ("UN", "ORG"), ("Bonn", "LOC")]
    assert summary.notes[0] == "tag scheme: iob1 (auto: 2 entities open with I-, first at line 1)"


# --- nested layers -----------------------------------------------------------------------

GERMEVAL = (
    "#\thttp://de.wikipedia.org/wiki/Berlin [2009-10-17]\n"
    "1\tDie\tO\tO\n2\tUniversität\tB-ORG\tO\n3\tBerlin\tI-ORG\tB-LOC\n4\tlehrt\tO\tO\n\n"
    "#\tsource 2\n1\tAnna\tB-PER\tO\n2\tlacht\tO\tO\n"
)


@pytest.mark.parametrize("indexed", [True, False], ids=["germeval", "token-outer-inner"])
def test_every_tag_column_is_a_layer(tmp_path: Path, indexed: bool) -> None:
    content = GERMEVAL
    if not indexed:
        content = "\n".join(
            "\t".join(line.split("\t")[1:]) if line and line[0].isdigit() else line
            for line in GERMEVAL.split("\n")
        )
    path = write(tmp_path / "nested.tsv", content)
    summary = CorpusSummary(str(path))
    docs = read_conll(path, VOCAB, summary=summary, n_sents=10)
    spans = [(s.text, s.label_) for s in docs[0].spans["sc"]]
    assert sorted(spans) == [("Anna", "PER"), ("Berlin", "LOC"), ("Universität Berlin", "ORG")]
    assert ents(docs) == [("Universität Berlin", "ORG"), ("Anna", "PER")]
    assert summary.comments == 2 and summary.not_in_ents == 1
    columns = "column 3: 2, column 4: 1" if indexed else "column 2: 2, column 3: 1"
    assert f"entities per layer ({columns})" in summary.notes


def test_a_chunk_column_is_never_an_entity_layer(tmp_path: Path) -> None:
    content = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n"
    summary = CorpusSummary("chunks")
    docs = read_conll(write(tmp_path / "c.txt", content), VOCAB, summary=summary)
    assert ents(docs) == [("EU", "ORG"), ("German", "MISC")]
    assert "sc" not in docs[0].spans
    assert any("column 3 has syntactic chunk tags (NP, VP" in note for note in summary.notes)


def test_tag_columns_choose_the_layers(tmp_path: Path) -> None:
    content = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
    docs = read_conll(write(tmp_path / "c.txt", content), VOCAB, tag_columns=[3])
    assert ents(docs) == [("EU", "NP"), ("rejects", "VP")]


# --- tracebacks and wording --------------------------------------------------------------


def run_main(monkeypatch: pytest.MonkeyPatch, capsys, *args: str):
    monkeypatch.setattr("sys.argv", ["spacy_spanbert", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out + captured.err


@pytest.mark.parametrize("command", [["check-install", "no-such-model"], ["render", "nope", "x"]])
def test_missing_model_is_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys, command: List[str]
) -> None:
    code, output = run_main(monkeypatch, capsys, *command)
    assert code == 1 and "Traceback" not in output
    assert "✘ OSError: [E050] Can't find model" in output and "--verbose" in output


def test_verbose_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["spacy_spanbert", "check-install", "nope", "--verbose"])
    with pytest.raises(OSError, match="E050"):
        main()


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    result = convert("conll", tmp_path / "in", tmp_path / "out.spacy")
    assert result.exit_code == 1 and "is a folder with no files" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "entity",
    [[0, 1], {"start": 0, "type": "PER"}],
    ids=["two-fields", "dict-without-end"],
)
def test_malformed_json_entity_names_its_record(tmp_path: Path, entity) -> None:
    records = [{"tokens": ["a"], "entities": []}, {"tokens": ["John"], "entities": [entity]}]
    result = convert(
        "relations-json", write(tmp_path / "r.json", json.dumps(records)), tmp_path / "o"
    )
    assert result.exit_code == 1
    assert "r.json: record 1: expected entity 0 as [start, end, type]" in " ".join(
        result.output.split()
    )


def test_spert_layout_is_read(tmp_path: Path) -> None:
    record = {
        "tokens": ["Anna", "works", "for", "Acme"],
        "entities": [{"type": "Peop", "start": 0, "end": 1}, {"type": "Org", "start": 3, "end": 4}],
        "relations": [{"type": "Work_For", "head": 0, "tail": 1}],
    }
    docs = read_relations_json(write(tmp_path / "s.json", json.dumps([record])), VOCAB)
    from spacy_spanbert import get_relations

    assert [(r.head.text, r.label, r.tail.text) for r in get_relations(docs[0])] == [
        ("Anna", "Work_For", "Acme")
    ]


# --- what careless users produce ---------------------------------------------------------


def test_gzipped_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.conll.gz"
    path.write_bytes(gzip.compress(b"John B-PER\nran O\n"))
    assert ents(read_conll(path, VOCAB)) == [("John", "PER")]


def test_mixed_line_endings_spaces_and_trailing_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "m.conll"
    path.write_bytes(b"John\tB-PER  \r\nSmith   I-PER\nran O \r\n\r\nBonn B-LOC\n")
    assert ents(read_conll(path, VOCAB)) == [("John Smith", "PER"), ("Bonn", "LOC")]


def test_wrong_file_for_the_format_fails_in_one_line(tmp_path: Path) -> None:
    record = json.dumps({"tokens": ["John"], "entity_mentions": []})
    result = convert("conll", write(tmp_path / "n.jsonl", record + "\n"), tmp_path / "o")
    assert result.exit_code == 1 and "n.jsonl:1: expected" in " ".join(result.output.split())
    result = convert("nested-json", write(tmp_path / "c.conll", "John B-PER\n"), tmp_path / "o")
    assert result.exit_code == 1 and "c.conll:1: expected one JSON value per line" in " ".join(
        result.output.split()
    )


def test_a_10_mb_single_line(tmp_path: Path) -> None:
    text = " ".join(["word"] * 2_000_000)
    assert len(list(read_raw_text(write(tmp_path / "big.txt", text)))[0]) == len(text)
    result = convert("conll", write(tmp_path / "big.conll", text), tmp_path / "o")
    assert result.exit_code == 1 and "big.conll:1: expected" in " ".join(result.output.split())


def test_converted_docbin_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "out.spacy"
    assert convert("conll", write(tmp_path / "a", BOM + "John B-PER\n"), out).exit_code == 0
    docs = list(DocBin().from_disk(out).get_docs(VOCAB))
    assert ents(docs) == [("John", "PER")]


# --- relation classification formats -----------------------------------------------------

SEMEVAL = (
    '1\t"The <e1>audits</e1> were about <e2>waste</e2> ."\r\n'
    "Message-Topic(e1,e2)\r\nComment: made up\r\n\r\n"
    '2\t"A <e1>burst</e1> came from the <e2>pipe</e2> ."\r\n'
    "Cause-Effect(e2,e1)\r\nComment:\r\n\r\n"
    '3\t"The <e1>cup</e1> and the <e2>table</e2> ."\r\nOther\r\nComment:\r\n\r\n'
)


def test_semeval_directions_and_other(tmp_path: Path) -> None:
    out = tmp_path / "s.spacy"
    result = convert("semeval", write(tmp_path / "s.txt", SEMEVAL), out)
    assert result.exit_code == 0, result.output
    assert "1 examples labelled Other: no relation" in result.output
    docs = list(DocBin().from_disk(out).get_docs(VOCAB))
    from spacy_spanbert import get_relations

    rels = [[(r.head.text, r.label, r.tail.text) for r in get_relations(d)] for d in docs]
    assert rels == [[("audits", "Message-Topic", "waste")], [("pipe", "Cause-Effect", "burst")], []]
    assert [d.user_data["id"] for d in docs] == ["1", "2", "3"]


def test_semeval_bad_label_names_its_line(tmp_path: Path) -> None:
    bad = SEMEVAL.replace("Cause-Effect(e2,e1)", "Cause-Effect(e3,e1)")
    result = convert("semeval", write(tmp_path / "s.txt", bad), tmp_path / "o")
    assert result.exit_code == 1 and "s.txt:6: expected a label such as" in " ".join(
        result.output.split()
    )


def tacred_record(relation: str, **changes) -> dict:
    record = {
        "id": "r1",
        "token": ["Anna", "Smith", "founded", "Acme", "."],
        "subj_start": 0,
        "subj_end": 1,
        "obj_start": 3,
        "obj_end": 3,
        "subj_type": "PERSON",
        "obj_type": "ORGANIZATION",
        "relation": relation,
    }
    record.update(changes)
    return record


def test_tacred_subject_to_object_and_no_relation(tmp_path: Path) -> None:
    from spacy_spanbert import get_relations
    from spacy_spanbert.corpus.tacred import read_tacred

    records = [tacred_record("org:founded_by"), tacred_record("no_relation", id="r2")]
    summary = CorpusSummary("t")
    docs = read_tacred(write(tmp_path / "t.json", json.dumps(records)), VOCAB, summary=summary)
    assert [(r.head.text, r.label, r.tail.text) for r in get_relations(docs[0])] == [
        ("Anna Smith", "org:founded_by", "Acme")
    ]
    assert [(e.text, e.label_) for e in docs[0].ents] == [
        ("Anna Smith", "PERSON"),
        ("Acme", "ORGANIZATION"),
    ]
    assert (
        get_relations(docs[1]) == [] and "1 records with no_relation: no relation" in summary.notes
    )


def test_tacred_offsets_outside_the_tokens_name_the_record(tmp_path: Path) -> None:
    records = [tacred_record("no_relation"), tacred_record("per:title", obj_end=9)]
    result = convert("tacred", write(tmp_path / "t.json", json.dumps(records)), tmp_path / "o")
    assert result.exit_code == 1
    assert "t.json: record 1: expected obj_start <= obj_end within" in " ".join(
        result.output.split()
    )
