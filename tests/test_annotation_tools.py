"""Annotation tools' formats: brat, Label Studio, doccano and Prodigy read into the one Doc
layout, every line type and policy, errors that name the annotation, and round trips through
the writers."""

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from typer.testing import CliRunner

from spacy_spanbert.cli import app
from spacy_spanbert.corpus import CorpusError, CorpusSummary
from spacy_spanbert.corpus.brat import read_brat, write_brat
from spacy_spanbert.corpus.char_offsets import whitespace_tokens
from spacy_spanbert.corpus.doccano import read_doccano, write_doccano
from spacy_spanbert.corpus.label_studio import read_label_studio, write_label_studio
from spacy_spanbert.corpus.prodigy import read_prodigy, write_prodigy
from spacy_spanbert.corpus.relations_json import read_relations_json
from spacy_spanbert.corpus.tacred import read_tacred
from spacy_spanbert.relations import Relation, get_relations, set_relations

NLP = spacy.blank("en")
RUNNER = CliRunner()


def run_cli(args: List[str]) -> Any:
    return RUNNER.invoke(app, args)


TEXT = "Anna Smith works for Acme Corp in Paris ."


def spans_of(doc: Doc, key: str = "sc") -> List[Tuple[str, str]]:
    return [(s.text, s.label_) for s in doc.spans[key]]


def rels_of(doc: Doc) -> List[Tuple[str, str, str]]:
    return [(r.head.text, r.label, r.tail.text) for r in get_relations(doc)]


def write(path: Path, text: str, encoding: str = "utf8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# --- brat -------------------------------------------------------------------------------

ANN = (
    "T1\tPER 0 10\tAnna Smith\n"
    "T2\tORG 21 30\tAcme Corp\n"
    "T3\tLOC 34 39\tParis\n"
    "T4\tWork 11 16\tworks\n"
    "R1\tWork_For Arg1:T1 Arg2:T2\n"
    "E1\tWork:T4 Agent:T1 Place2:T3\n"
    "R2\tAt Arg1:E1 Arg2:T3\n"
    "A1\tNegation E1\n"
    "M2\tConfidence E1 High\n"
    "N1\tReference T3 Wikipedia:22989\tParis\n"
    "#1\tAnnotatorNotes T1\tchecked\n"
    "*\tEquiv T2 T2\n"
)


def test_brat_reads_every_line_type(tmp_path: Path) -> None:
    write(tmp_path / "doc.txt", TEXT)
    write(tmp_path / "doc.ann", ANN)
    summary = CorpusSummary("brat")
    (doc,) = read_brat(tmp_path / "doc.ann", NLP.make_doc, summary=summary)
    assert spans_of(doc) == [
        ("Anna Smith", "PER"),
        ("works", "Work"),
        ("Acme Corp", "ORG"),
        ("Paris", "LOC"),
    ]
    assert rels_of(doc) == [
        ("Anna Smith", "Work_For", "Acme Corp"),
        ("works", "Agent", "Anna Smith"),
        ("works", "Place", "Paris"),  # Place2 read as Place
        ("works", "At", "Paris"),  # an event argument is its trigger
    ]
    assert summary.comments == 1
    assert summary.skipped == {
        "brat attribute lines (A)": 1,
        "brat attribute lines (M)": 1,
        "brat normalization lines (N)": 1,
        "brat Equiv lines (*)": 1,
    }
    assert summary.changed["event arguments read as relations from the trigger"] == 2


def test_brat_crlf_and_bom_give_the_same_entities(tmp_path: Path) -> None:
    text = "Anna Smith\nworks for\nAcme Corp ."
    ann = "T1\tPER 0 10\tAnna Smith\nT2\tORG 21 30\tAcme Corp\n"
    write(tmp_path / "lf" / "d.txt", text)
    write(tmp_path / "lf" / "d.ann", ann)
    write(tmp_path / "crlf" / "d.txt", "\ufeff" + text.replace("\n", "\r\n"))
    write(tmp_path / "crlf" / "d.ann", "\ufeff" + ann.replace("\n", "\r\n"))
    (lf,) = read_brat(tmp_path / "lf", NLP.make_doc)
    (crlf,) = read_brat(tmp_path / "crlf", NLP.make_doc)
    assert spans_of(lf) == spans_of(crlf) == [("Anna Smith", "PER"), ("Acme Corp", "ORG")]
    assert lf.text == crlf.text


def test_brat_bionlp_a1_a2(tmp_path: Path) -> None:
    write(tmp_path / "PMID-1.txt", "IL-2 activates NF-kB .")
    write(tmp_path / "PMID-1.a1", "T1\tProtein 0 4\tIL-2\nT2\tProtein 15 20\tNF-kB\n")
    write(
        tmp_path / "PMID-1.a2",
        "T3\tPositive_regulation 5 14\tactivates\nE1\tPositive_regulation:T3 Cause:T1 Theme:T2\n",
    )
    (doc,) = read_brat(tmp_path, NLP.make_doc)
    assert rels_of(doc) == [("activates", "Cause", "IL-2"), ("activates", "Theme", "NF-kB")]


@pytest.mark.parametrize(
    "policy,spans,changed",
    [
        ("split", [("Acme", "ORG"), ("Corp", "ORG")], 1),
        ("cover", [("Acme big Corp", "ORG")], 1),
        ("skip", [], 1),
    ],
)
def test_brat_discontinuous_policies(
    tmp_path: Path, policy: str, spans: list, changed: int
) -> None:
    write(tmp_path / "d.txt", "Acme big Corp and Anna Smith")
    write(
        tmp_path / "d.ann",
        "T1\tORG 0 4;9 13\tAcme Corp\nT2\tPER 18 22;23 28\tAnna Smith\n"
        "R1\tEmploys Arg1:T1 Arg2:T2\n",
    )
    summary = CorpusSummary("d")
    (doc,) = read_brat(tmp_path, NLP.make_doc, discontinuous=policy, summary=summary)
    assert [s for s in spans_of(doc) if s[1] == "ORG"] == spans
    assert ("Anna Smith", "PER") in spans_of(doc)  # fragments with only a space between merge
    assert summary.changed["discontinuous entities merged (only whitespace between)"] == 1
    assert summary.changed[f"discontinuous entities read with --discontinuous {policy}"] == changed
    if policy == "skip":
        assert rels_of(doc) == [] and len(summary.lost_relations) == 1
        assert "R1 (Employs)" in summary.lost_relations[0]
    else:
        assert rels_of(doc)[0][1:] == ("Employs", "Anna Smith")


@pytest.mark.parametrize(
    "files,match",
    [
        ({"d.ann": "T1\tPER 0 4\tAnna\n"}, r"d\.ann: expected its text beside it, d\.txt"),
        (
            {"d.txt": "Anna", "d.ann": "X1\tPER 0 4\tAnna\n"},
            r"d\.ann:1: expected a brat annotation line",
        ),
        (
            {"d.txt": "Anna", "d.ann": "T1\tPER 0 4\tAnna\nR1\tR Arg1:T1 Arg2:T9\n"},
            r"d\.ann:2: expected R1: arguments that are T lines or events .*T9 is not one",
        ),
        (
            {"d.txt": "Anna Bob", "d.ann": "T1\tPER 0 4\tBob\n"},
            r"d\.ann:1: expected T1's text 'Bob' at its offsets in the \.txt; found 'Anna'",
        ),
        (
            {"d.txt": "Anna", "d.ann": "T1\tPER 0 9\tAnna\n"},
            r"d\.ann:1: expected T1: offsets within",
        ),
        (
            {"d.txt": "Annabel", "d.ann": "T1\tPER 0 4\tAnna\n"},
            r"d\.ann:1: expected T1 on token boundaries .*'Anna' at characters 0-4, inside a token",
        ),
        (
            {"d.txt": "Anna", "d.ann": "T1\tPER 0 4\tAnna\nT1\tPER 0 4\tAnna\n"},
            r"d\.ann:2: expected a new ID",
        ),
        ({"d.json": "[]"}, r"d\.json: expected a brat \.ann"),
    ],
)
def test_brat_bad_input_names_file_line_and_id(
    tmp_path: Path, files: Dict[str, str], match: str
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    target = tmp_path / next(iter(files))
    with pytest.raises(CorpusError, match=match):
        read_brat(target, NLP.make_doc)


@pytest.mark.parametrize(
    "alignment,span,changed,skipped",
    [("expand", ("Annabel", "PER"), 1, 0), ("contract", None, 0, 1)],
)
def test_offsets_inside_tokens_snap_only_when_asked(
    tmp_path: Path, alignment: str, span: Any, changed: int, skipped: int
) -> None:
    write(tmp_path / "d.txt", "Annabel met Bob")
    write(tmp_path / "d.ann", "T1\tPER 0 4\tAnna\nT2\tPER 12 15\tBob\nR1\tMet Arg1:T1 Arg2:T2\n")
    summary = CorpusSummary("d")
    (doc,) = read_brat(tmp_path, NLP.make_doc, alignment=alignment, summary=summary)
    assert (span in spans_of(doc)) if span else spans_of(doc) == [("Bob", "PER")]
    assert sum(summary.changed.values()) == changed
    assert sum(summary.skipped.values()) == skipped
    assert len(summary.lost_relations) == skipped  # a relation never kept half


# --- Label Studio ------------------------------------------------------------------------


def region(rid: str, start: int, end: int, labels: List[str], text: str = "") -> Dict[str, Any]:
    value: Dict[str, Any] = {"start": start, "end": end, "labels": labels}
    if text:
        value["text"] = text
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels", "value": value}


def ls_task(results: List[Dict[str, Any]], **annotation: Any) -> Dict[str, Any]:
    return {"id": 1, "data": {"text": TEXT}, "annotations": [{"result": results, **annotation}]}


def test_label_studio_spans_relations_and_directions(tmp_path: Path) -> None:
    results = [
        region("a", 0, 10, ["PER"], "Anna Smith"),
        region("b", 21, 30, ["ORG", "COMPANY"], "Acme Corp"),
        region("c", 34, 39, ["LOC"], "Paris"),
        {
            "type": "relation",
            "from_id": "a",
            "to_id": "b",
            "direction": "right",
            "labels": ["Work_For"],
        },
        {
            "type": "relation",
            "from_id": "a",
            "to_id": "c",
            "direction": "left",
            "labels": ["Home_Of"],
        },
        {"type": "relation", "from_id": "b", "to_id": "c", "direction": "bi", "labels": ["Near"]},
        {"type": "relation", "from_id": "a", "to_id": "c", "direction": "right", "labels": []},
        {"id": "x", "type": "choices", "value": {"choices": ["news"]}, "from_name": "c"},
    ]
    path = write(tmp_path / "ls.json", json.dumps([ls_task(results)]))
    summary = CorpusSummary("ls")
    (doc,) = read_label_studio(path, NLP.make_doc, summary=summary)
    assert spans_of(doc) == [
        ("Anna Smith", "PER"),
        ("Acme Corp", "COMPANY"),
        ("Acme Corp", "ORG"),
        ("Paris", "LOC"),
    ]
    assert len(doc.ents) == 3 and summary.not_in_ents == 1
    assert sorted(rels_of(doc)) == sorted(
        [
            ("Anna Smith", "Work_For", "Acme Corp"),
            ("Paris", "Home_Of", "Anna Smith"),
            ("Acme Corp", "Near", "Paris"),
            ("Paris", "Near", "Acme Corp"),
        ]
    )
    assert summary.skipped["Label Studio relations without a label"] == 1
    assert summary.skipped["Label Studio results of type choices"] == 1


def test_label_studio_chooses_one_annotation_and_skips_cancelled(tmp_path: Path) -> None:
    task = {
        "data": {"body": TEXT},
        "annotations": [
            {"result": [region("a", 0, 10, ["OLD"])], "updated_at": "2026-01-01T00:00:00"},
            {"result": [region("a", 0, 10, ["NEW"])], "updated_at": "2026-02-01T00:00:00"},
            {
                "result": [region("a", 0, 10, ["GONE"])],
                "updated_at": "2026-03-01T00:00:00",
                "was_cancelled": True,
            },
        ],
    }
    unannotated = {"data": {"body": TEXT}, "annotations": []}
    path = write(tmp_path / "ls.json", json.dumps([task, unannotated]))
    summary = CorpusSummary("ls")
    (doc,) = read_label_studio(path, NLP.make_doc, text_key="body", summary=summary)
    assert spans_of(doc) == [("Anna Smith", "NEW")]
    (first,) = read_label_studio(path, NLP.make_doc, text_key="body", choose="first")
    assert spans_of(first) == [("Anna Smith", "OLD")]
    assert summary.skipped == {
        "cancelled Label Studio annotations": 1,
        "Label Studio tasks without annotations": 1,
    }


def test_label_studio_utf16_offsets_after_emoji_are_converted(tmp_path: Path) -> None:
    text = "I 😀 love Paris"
    # Label Studio's UTF-16 code units: the emoji counts 2, so Paris is at 10-15, not 9-14
    task = {
        "data": {"text": text},
        "annotations": [{"result": [region("a", 10, 15, ["LOC"], "Paris")]}],
    }
    summary = CorpusSummary("ls")
    (doc,) = read_label_studio(
        write(tmp_path / "ls.json", json.dumps([task])), NLP.make_doc, summary=summary
    )
    assert spans_of(doc) == [("Paris", "LOC")]
    assert summary.changed["Label Studio regions converted from UTF-16 offsets"] == 1


@pytest.mark.parametrize(
    "tasks,match",
    [
        (
            [
                ls_task(
                    [
                        region("a", 0, 10, ["PER"]),
                        {"type": "relation", "from_id": "a", "to_id": "zz", "labels": ["R"]},
                    ]
                )
            ],
            r"record 0: expected relation result 1: from_id and to_id .*no region zz",
        ),
        (
            [ls_task([region("a", 0, 4, ["PER"], "Bob")])],
            r"record 0: expected region a's text 'Bob' at its offsets 0-4; found 'Anna'",
        ),
        (
            [{"data": {"txt": TEXT}}],
            r'record 0: expected a Label Studio task with its text in "data"."text"',
        ),
        ({"text": TEXT, "label": []}, r"expected a JSON list of records"),
        (
            [ls_task([region("a", 0, 1.7, ["PER"])])],
            r"record 0: expected region a: \"value\" with integer",
        ),  # type: ignore[arg-type]
    ],
)
def test_label_studio_bad_input(tmp_path: Path, tasks: Any, match: str) -> None:
    with pytest.raises(CorpusError, match=match):
        read_label_studio(write(tmp_path / "ls.json", json.dumps(tasks)), NLP.make_doc)


# --- doccano -----------------------------------------------------------------------------


def test_doccano_both_shapes(tmp_path: Path) -> None:
    lines = [
        {"text": TEXT, "label": [[0, 10, "PER"], [21, 30, "ORG"]]},
        {"text": TEXT, "label": ["positive"]},
        {
            "text": TEXT,
            "entities": [
                {"id": 7, "label": "PER", "start_offset": 0, "end_offset": 10},
                {"id": 8, "label": "ORG", "start_offset": 21, "end_offset": 30},
            ],
            "relations": [{"id": 1, "from_id": 7, "to_id": 8, "type": "Work_For"}],
        },
    ]
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    summary = CorpusSummary("d")
    docs = read_doccano(path, NLP.make_doc, summary=summary)
    assert spans_of(docs[0]) == spans_of(docs[2]) == [("Anna Smith", "PER"), ("Acme Corp", "ORG")]
    assert rels_of(docs[2]) == [("Anna Smith", "Work_For", "Acme Corp")]
    assert summary.skipped["doccano document labels (text classification)"] == 1


@pytest.mark.parametrize(
    "line,match",
    [
        (
            {
                "text": TEXT,
                "entities": [{"id": 1, "label": "P", "start_offset": 0, "end_offset": 4}],
                "relations": [{"from_id": 1, "to_id": 2, "type": "R"}],
            },
            r"d\.jsonl:1: .*no entity 2",
        ),
        (
            {"text": TEXT, "label": [[0, 1e400, "P"]]},
            r"d\.jsonl:1: expected label 0: an integer offset",
        ),
        ({"label": []}, r'd\.jsonl:1: expected a doccano record with its "text"'),
    ],
)
def test_doccano_bad_input(tmp_path: Path, line: Any, match: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(line).replace("Infinity", "1e400") + "\n")
    with pytest.raises(CorpusError, match=match):
        read_doccano(path, NLP.make_doc)


# --- Prodigy -----------------------------------------------------------------------------


def prodigy_task(answer: str = "accept") -> Dict[str, Any]:
    words = TEXT.split()
    tokens, start = [], 0
    for i, word in enumerate(words):
        tokens.append(
            {
                "text": word,
                "start": start,
                "end": start + len(word),
                "id": i,
                "ws": i < len(words) - 1,
            }
        )
        start += len(word) + 1
    per = {"start": 0, "end": 10, "token_start": 0, "token_end": 1, "label": "PER"}
    org = {"start": 21, "end": 30, "token_start": 4, "token_end": 5, "label": "ORG"}
    return {
        "text": TEXT,
        "tokens": tokens,
        "spans": [per, org],
        "answer": answer,
        "relations": [
            {"head": 1, "child": 5, "head_span": per, "child_span": org, "label": "Work_For"}
        ],
    }


def test_prodigy_tokens_inclusive_ends_relations_and_answers(tmp_path: Path) -> None:
    tasks = [prodigy_task(), prodigy_task("reject"), prodigy_task("ignore")]
    path = write(tmp_path / "p.jsonl", "\n".join(json.dumps(t) for t in tasks))
    summary = CorpusSummary("p")
    (doc,) = read_prodigy(path, NLP.vocab, summary=summary)
    assert spans_of(doc) == [("Anna Smith", "PER"), ("Acme Corp", "ORG")]
    assert rels_of(doc) == [("Anna Smith", "Work_For", "Acme Corp")]
    assert summary.skipped == {
        'Prodigy tasks answered "reject"': 1,
        'Prodigy tasks answered "ignore"': 1,
    }


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda t: t.pop("tokens"), r'p\.jsonl:1: expected "tokens"'),
        (
            lambda t: t["relations"][0].update(head=0),
            r"p\.jsonl:1: expected relation 0: head and child",
        ),
        (lambda t: t["spans"][0].update(token_end=40), r"p\.jsonl:1: expected span 0 within"),
        (lambda t: t["spans"][0].update(start=1), r"p\.jsonl:1: expected span 0: characters 1-10"),
    ],
)
def test_prodigy_bad_input(tmp_path: Path, change: Any, match: str) -> None:
    task = prodigy_task()
    change(task)
    with pytest.raises(CorpusError, match=match):
        read_prodigy(write(tmp_path / "p.jsonl", json.dumps(task)), NLP.vocab)


# --- relations-json and offsets -----------------------------------------------------------


def test_relations_json_takes_overlapping_entities(tmp_path: Path) -> None:
    record = {
        "tokens": ["the", "IL-2", "gene", "binds", "NF-kB"],
        "entities": [[1, 3, "DNA"], [1, 2, "protein"], [4, 5, "protein"]],
        "relations": [[1, 2, 4, 5, "Binds"]],
    }
    summary = CorpusSummary("r")
    (doc,) = read_relations_json(
        write(tmp_path / "r.json", json.dumps([record])), NLP.vocab, summary=summary
    )
    assert spans_of(doc) == [("IL-2", "protein"), ("IL-2 gene", "DNA"), ("NF-kB", "protein")]
    assert [e.text for e in doc.ents] == ["IL-2 gene", "NF-kB"]
    assert summary.not_in_ents == 1
    assert rels_of(doc) == [("IL-2", "Binds", "NF-kB")]


@pytest.mark.parametrize("offset", ["1.7", "1e400", "true", '"1"'])
def test_offsets_that_are_not_integers_are_errors(tmp_path: Path, offset: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(f'[{{"tokens": ["a", "b", "c"], "entities": [[0, {offset}, "X"]]}}]')
    with pytest.raises(CorpusError, match=r"record 0: expected entity 0"):
        read_relations_json(path, NLP.vocab)
    tacred = tmp_path / "t.json"
    tacred.write_text(
        f'[{{"token": ["a", "b", "c"], "subj_start": 0, "subj_end": {offset}, "obj_start": 2, '
        '"obj_end": 2, "relation": "no_relation", "subj_type": "A", "obj_type": "B"}]'
    )
    with pytest.raises(CorpusError, match=r"record 0: expected integer subj_start"):
        read_tacred(tacred, NLP.vocab)


def test_whitespace_tokens_keep_the_text() -> None:
    make_doc = whitespace_tokens(NLP.vocab)
    for text in ["a b c ", "  a\n\nb  c", "a", "x \n y"]:
        doc = make_doc(text)
        assert doc.text == text
        assert [t.text for t in doc if t.text.strip()] == text.split()


# --- round trips -------------------------------------------------------------------------


def gold_docs() -> List[Tuple[str, Doc]]:
    doc = NLP.make_doc("the IL2 gene binds NFkB in T cells .")
    spans = [
        Span(doc, 1, 3, "DNA"),
        Span(doc, 1, 2, "protein"),
        Span(doc, 4, 5, "protein"),
        Span(doc, 6, 8, "cell_type"),
    ]
    doc.spans["sc"] = spans
    doc.spans["sc"].attrs["scores"] = [0.9, 0.8, 0.7, 0.6]
    doc.ents = [spans[0], spans[2], spans[3]]
    set_relations(
        doc, [Relation(spans[1], "Binds", spans[2], 0.75), Relation(spans[2], "In", spans[3], 0.5)]
    )
    other = NLP.make_doc("Nothing here .")
    return [("doc/1", doc), ("doc:2", other)]


def layout(doc: Doc) -> Tuple[Any, ...]:
    return (
        sorted((s.start_char, s.end_char, s.label_) for s in doc.spans.get("sc", [])),
        sorted((e.start_char, e.end_char, e.label_) for e in doc.ents),
        sorted((r.head.start_char, r.label, r.tail.start_char) for r in get_relations(doc)),
    )


def round_trip(
    fmt: str, docs: List[Tuple[str, Doc]], tmp_path: Path, **kwargs: Any
) -> Tuple[List[Doc], Any]:
    if fmt == "brat":
        safe = [(name.replace("/", "_").replace(":", "_"), doc) for name, doc in docs]
        written = write_brat(safe, tmp_path / "brat")
        return read_brat(tmp_path / "brat", NLP.make_doc), written
    if fmt == "label_studio":
        written = write_label_studio(docs, tmp_path / "ls.json", **kwargs)
        return read_label_studio(tmp_path / "ls.json", NLP.make_doc, predictions=True), written
    if fmt == "doccano":
        written = write_doccano(docs, tmp_path / "d.jsonl", **kwargs)
        return read_doccano(tmp_path / "d.jsonl", NLP.make_doc), written
    written = write_prodigy(docs, tmp_path / "p.jsonl", **kwargs)
    return read_prodigy(tmp_path / "p.jsonl", NLP.vocab), written


@pytest.mark.parametrize("fmt", ["brat", "label_studio", "doccano", "prodigy"])
def test_round_trip_is_exact(fmt: str, tmp_path: Path) -> None:
    docs = gold_docs()
    read, written = round_trip(fmt, docs, tmp_path)
    assert [layout(doc) for doc in read] == [layout(doc) for _, doc in docs]
    assert (written["documents"], written["spans"], written["relations"]) == (2, 4, 2)


@pytest.mark.parametrize(
    "fmt,kwargs,left_out",
    [
        ("doccano", {"shape": "label"}, {"relations left out": 2}),
        ("prodigy", {"view": "ner"}, {"relations left out": 2, "overlapping spans left out": 1}),
    ],
)
def test_lossy_shapes_leave_out_exactly_what_they_count(
    fmt: str, kwargs: Dict[str, str], left_out: Dict[str, int], tmp_path: Path, capsys: Any
) -> None:
    docs = gold_docs()
    (doc, _), written = round_trip(fmt, docs, tmp_path, **kwargs)
    assert {k: v for k, v in written.items() if k.endswith("left out")} == left_out
    spans_lost = len(docs[0][1].spans["sc"]) - len(doc.spans["sc"])
    assert spans_lost == left_out.get("overlapping spans left out", 0)
    assert get_relations(doc) == []
    assert "left out" in capsys.readouterr().out


def test_label_studio_predictions_carry_scores_and_model_version(tmp_path: Path) -> None:
    write_label_studio(gold_docs(), tmp_path / "ls.json", model_version="v7", from_name="ner")
    task = json.loads((tmp_path / "ls.json").read_text())[0]
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "v7" and prediction["score"] == pytest.approx(0.6)
    regions = [r for r in prediction["result"] if r["type"] == "labels"]
    assert [r["from_name"] for r in regions] == ["ner"] * 4
    assert sorted(r["score"] for r in regions) == pytest.approx([0.6, 0.7, 0.8, 0.9])
    assert task["meta"]["id"] == "doc/1"


def test_brat_writes_scores_as_notes_and_an_annotation_conf(tmp_path: Path) -> None:
    docs = [(name.replace("/", "_").replace(":", "_"), doc) for name, doc in gold_docs()]
    write_brat(docs, tmp_path / "out")
    conf = (tmp_path / "out" / "annotation.conf").read_text()
    assert "Binds\tArg1:protein, Arg2:protein" in conf and "cell_type" in conf
    ann = (tmp_path / "out" / "doc_1.ann").read_text()
    assert "T2\tDNA 4 12\tIL2 gene\n#2\tAnnotatorNotes T2\tscore 0.9000" in ann


# --- the command line --------------------------------------------------------------------


def annotate_shard(tmp_path: Path) -> Path:
    """A shard as `annotate` writes it."""
    line = {
        "version": 1,
        "id": "a/1",
        "meta": {},
        "text": TEXT,
        "entities": [
            {"start": 0, "end": 10, "label": "PER", "score": 0.9},
            {"start": 21, "end": 30, "label": "ORG", "score": 0.8},
        ],
        "spans": [
            {"start": 0, "end": 10, "label": "PER", "score": 0.9},
            {"start": 0, "end": 4, "label": "NAME", "score": 0.6},
            {"start": 21, "end": 30, "label": "ORG", "score": 0.8},
        ],
        "relations": [
            {
                "head": {"start": 0, "end": 10, "label": "PER"},
                "label": "Work_For",
                "tail": {"start": 21, "end": 30, "label": "ORG"},
                "score": 0.7,
            }
        ],
        "cats": {},
    }
    folder = tmp_path / "annotated"
    write(folder / "shard-00000.jsonl", json.dumps(line) + "\n")
    return folder


@pytest.mark.parametrize(
    "fmt,output,reread",
    [
        ("brat", "brat", ["brat"]),
        ("label-studio", "tasks.json", ["label-studio", "--predictions"]),
        ("doccano", "d.jsonl", ["doccano"]),
        ("prodigy", "p.jsonl", ["prodigy"]),
    ],
)
def test_export_then_convert(tmp_path: Path, fmt: str, output: str, reread: List[str]) -> None:
    shard = annotate_shard(tmp_path)
    result = run_cli(["export", fmt, str(shard), str(tmp_path / output)])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 documents, 3 spans and 1 relations" in " ".join(result.output.split())
    result = run_cli(
        ["convert", reread[0], str(tmp_path / output), str(tmp_path / "back.spacy"), *reread[1:]]
    )
    assert result.exit_code == 0, result.output
    (doc,) = DocBin().from_disk(tmp_path / "back.spacy").get_docs(NLP.vocab)
    assert spans_of(doc) == [("Anna", "NAME"), ("Anna Smith", "PER"), ("Acme Corp", "ORG")]
    assert rels_of(doc) == [("Anna Smith", "Work_For", "Acme Corp")]
    if fmt == "label-studio":
        assert '<Relation value="Work_For"/>' in (tmp_path / "tasks.config.xml").read_text()


def test_convert_reads_a_folder_of_exports(tmp_path: Path) -> None:
    for i in range(2):
        write(
            tmp_path / "in" / f"part-{i}.jsonl",
            json.dumps({"text": TEXT, "label": [[0, 10, "PER"]]}),
        )
    result = run_cli(["convert", "doccano", str(tmp_path / "in"), str(tmp_path / "o.spacy")])
    assert result.exit_code == 0, result.output
    assert len(list(DocBin().from_disk(tmp_path / "o.spacy").get_docs(NLP.vocab))) == 2


@pytest.mark.parametrize(
    "fmt,name,content,match",
    [
        ("brat", "x.ann", "T1\tPER 0 4\tAnna\n", "x.ann: expected its"),
        ("label-studio", "x.json", "[]", "No documents in"),
        ("label-studio", "x.json", json.dumps({"text": TEXT, "label": []}), "JSON list"),
        ("prodigy", "x.jsonl", json.dumps({"text": TEXT, "label": [[0, 4, "P"]]}), "x.jsonl:1"),
    ],
)
def test_convert_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, fmt: str, name: str, content: str, match: str
) -> None:
    write(tmp_path / name, content)
    result = run_cli(["convert", fmt, str(tmp_path / name), str(tmp_path / "o.spacy")])
    assert result.exit_code == 1
    assert match in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "o.spacy").exists()


def test_far_apart_relations_are_kept_and_counted(tmp_path: Path) -> None:
    text = "Anna " + "x " * 150 + "Acme"
    line = {
        "text": text,
        "entities": [
            {"id": 1, "label": "PER", "start_offset": 0, "end_offset": 4},
            {"id": 2, "label": "ORG", "start_offset": len(text) - 4, "end_offset": len(text)},
        ],
        "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "Work_For"}],
    }
    summary = CorpusSummary("d")
    (doc,) = read_doccano(
        write(tmp_path / "d.jsonl", json.dumps(line)), NLP.make_doc, summary=summary
    )
    assert rels_of(doc) == [("Anna", "Work_For", "Acme")]
    assert summary.far_relations == 1
    assert summary.to_dict()["far_relations"] == 1
