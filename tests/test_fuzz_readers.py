"""Every reader, fuzzed: random bytes and mutations of a valid file (lines deleted or
duplicated, columns swapped, truncation, invalid UTF-8, huge, negative and fractional numbers)
either read or raise the reader's own CorpusError, never another exception.

The default run tries ``FUZZ_EXAMPLES`` examples per reader and strategy; set the environment
variable to run longer (``benchmarks/faults.py`` records such a run)."""

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spacy_spanbert.corpus import CorpusError, read_conll
from spacy_spanbert.corpus.brat import read_brat
from spacy_spanbert.corpus.doccano import read_doccano
from spacy_spanbert.corpus.intent_slots import read_intent_slots
from spacy_spanbert.corpus.label_studio import read_label_studio
from spacy_spanbert.corpus.nested_json import read_nested_json
from spacy_spanbert.corpus.prodigy import read_prodigy
from spacy_spanbert.corpus.raw_text import read_raw_text
from spacy_spanbert.corpus.relations_json import read_relations_json
from spacy_spanbert.corpus.semeval import read_semeval
from spacy_spanbert.corpus.tacred import read_tacred

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
NLP = spacy.blank("en")
TEXT = "Anna Smith works for Acme Corp ."
PRODIGY_TOKENS = [
    {"text": w, "start": s, "end": s + len(w), "id": i, "ws": True}
    for i, (w, s) in enumerate(zip(TEXT.split(), [0, 5, 11, 17, 21, 26, 31]))
]
PER = {"start": 0, "end": 10, "token_start": 0, "token_end": 1, "label": "PER"}
ORG = {"start": 21, "end": 30, "token_start": 4, "token_end": 5, "label": "ORG"}

# reader name -> (valid files by name, the file the reader is given, read(path))
READERS: Dict[str, Any] = {
    "conll": (
        {
            "in.conll": "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
            "Peter NNP B-NP B-PER\nBlack NNP I-NP I-PER\n"
        },
        "in.conll",
        lambda p: read_conll(p, NLP.vocab),
    ),
    "nested-json": (
        {
            "in.jsonl": json.dumps(
                {
                    "tokens": ["IL-2", "gene", "x"],
                    "entity_mentions": [
                        {"start": 0, "end": 2, "entity_type": "DNA"},
                        {"start": 0, "end": 1, "entity_type": "protein"},
                    ],
                }
            )
            + "\n"
        },
        "in.jsonl",
        lambda p: read_nested_json(p, NLP.vocab),
    ),
    "relations-json": (
        {
            "in.json": json.dumps(
                [
                    {
                        "tokens": TEXT.split(),
                        "entities": [[0, 2, "PER"], [4, 6, "ORG"]],
                        "relations": [[0, 2, 4, 6, "Work_For"]],
                    },
                    {
                        "tokens": TEXT.split(),
                        "entities": [
                            {"type": "PER", "start": 0, "end": 2},
                            {"type": "ORG", "start": 4, "end": 6},
                        ],
                        "relations": [{"type": "Work_For", "head": 0, "tail": 1}],
                    },
                ],
                indent=1,
            )
        },
        "in.json",
        lambda p: read_relations_json(p, NLP.vocab),
    ),
    "tacred": (
        {
            "in.json": json.dumps(
                [
                    {
                        "id": "1",
                        "token": TEXT.split(),
                        "subj_start": 0,
                        "subj_end": 1,
                        "obj_start": 4,
                        "obj_end": 5,
                        "subj_type": "PERSON",
                        "obj_type": "ORGANIZATION",
                        "relation": "per:employee_of",
                    }
                ],
                indent=1,
            )
        },
        "in.json",
        lambda p: read_tacred(p, NLP.vocab),
    ),
    "semeval": (
        {
            "in.txt": '1\t"The <e1>audits</e1> were about <e2>waste</e2> ."\n'
            "Message-Topic(e1,e2)\nComment: x\n\n"
            '2\t"The <e1>cup</e1> and the <e2>table</e2> ."\nOther\nComment:\n\n'
        },
        "in.txt",
        lambda p: read_semeval(p, NLP.make_doc),
    ),
    "intent-slots": (
        {
            "seq.in": "play some jazz\nbook a table\n",
            "seq.out": "O O B-genre\nO O B-thing\n",
            "label": "PlayMusic\nBook\n",
        },
        ".",
        lambda p: read_intent_slots(p, NLP.vocab),
    ),
    "raw-text": (
        {"in.txt": "One document .\nAnother one .\n"},
        "in.txt",
        lambda p: list(read_raw_text(p)),
    ),
    "brat": (
        {
            "d.txt": TEXT,
            "d.ann": "T1\tPER 0 10\tAnna Smith\nT2\tORG 21 30\tAcme Corp\n"
            "T3\tWork 11 16\tworks\nR1\tWork_For Arg1:T1 Arg2:T2\n"
            "E1\tWork:T3 Agent:T1\nA1\tNeg E1\n#1\tAnnotatorNotes T1\tx\n",
        },
        "d.ann",
        lambda p: read_brat(p, NLP.make_doc),
    ),
    "label-studio": (
        {
            "in.json": json.dumps(
                [
                    {
                        "data": {"text": TEXT},
                        "annotations": [
                            {
                                "result": [
                                    {
                                        "id": "a",
                                        "type": "labels",
                                        "value": {
                                            "start": 0,
                                            "end": 10,
                                            "text": "Anna Smith",
                                            "labels": ["PER"],
                                        },
                                    },
                                    {
                                        "id": "b",
                                        "type": "labels",
                                        "value": {
                                            "start": 21,
                                            "end": 30,
                                            "text": "Acme Corp",
                                            "labels": ["ORG"],
                                        },
                                    },
                                    {
                                        "type": "relation",
                                        "from_id": "a",
                                        "to_id": "b",
                                        "direction": "right",
                                        "labels": ["Work_For"],
                                    },
                                ]
                            }
                        ],
                    }
                ],
                indent=1,
            )
        },
        "in.json",
        lambda p: read_label_studio(p, NLP.make_doc),
    ),
    "doccano": (
        {
            "in.jsonl": json.dumps({"text": TEXT, "label": [[0, 10, "PER"]]})
            + "\n"
            + json.dumps(
                {
                    "text": TEXT,
                    "entities": [
                        {"id": 1, "label": "PER", "start_offset": 0, "end_offset": 10},
                        {"id": 2, "label": "ORG", "start_offset": 21, "end_offset": 30},
                    ],
                    "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "Work_For"}],
                }
            )
            + "\n"
        },
        "in.jsonl",
        lambda p: read_doccano(p, NLP.make_doc),
    ),
    "prodigy": (
        {
            "in.jsonl": json.dumps(
                {
                    "text": TEXT,
                    "tokens": PRODIGY_TOKENS,
                    "spans": [PER, ORG],
                    "answer": "accept",
                    "relations": [
                        {
                            "head": 1,
                            "child": 5,
                            "head_span": PER,
                            "child_span": ORG,
                            "label": "Work_For",
                        }
                    ],
                }
            )
            + "\n"
        },
        "in.jsonl",
        lambda p: read_prodigy(p, NLP.vocab),
    ),
}
NUMBER = re.compile(rb"\d+")
REPLACEMENTS = [b"1e400", b"-3", b"1.7", b"99999999999999999999", b"-0", b"NaN", b"true"]


@st.composite
def mutated(draw: Callable, files: Dict[str, str]) -> Dict[str, bytes]:
    """A valid file set with a few mutations applied to one of its files."""
    out = {name: text.encode("utf8") for name, text in files.items()}
    name = draw(st.sampled_from(sorted(out)))
    data = out[name]
    for _ in range(draw(st.integers(1, 3))):
        lines = data.split(b"\n")
        kind = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "truncate", "bad_utf8", "number", "bytes"]
            )
        )
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if kind == "delete" and lines:
            del lines[i]
        elif kind == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif kind == "swap" and lines:
            sep = b"\t" if b"\t" in lines[i] else b" "
            cols = lines[i].split(sep)
            if len(cols) > 1:
                a, b = draw(st.integers(0, len(cols) - 1)), draw(st.integers(0, len(cols) - 1))
                cols[a], cols[b] = cols[b], cols[a]
            lines[i] = sep.join(cols)
        elif kind == "bad_utf8":
            lines[i] = lines[i][: len(lines[i]) // 2] + b"\xff\xfe" + lines[i][len(lines[i]) // 2 :]
        elif kind == "number":
            numbers = list(NUMBER.finditer(data))
            if numbers:
                match = numbers[draw(st.integers(0, len(numbers) - 1))]
                data = (
                    data[: match.start()]
                    + draw(st.sampled_from(REPLACEMENTS))
                    + data[match.end() :]
                )
                continue
        elif kind == "bytes":
            lines[i] = draw(st.binary(max_size=40))
        data = b"\n".join(lines)
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
    out[name] = data
    return out


def read_or_corpus_error(name: str, files: Dict[str, bytes]) -> None:
    _, target, read = READERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, data in files.items():
            (Path(tmp) / file_name).write_bytes(data)
        try:
            read(Path(tmp) / target)
        except CorpusError as err:
            assert str(err).count("\n") == 0  # one line
            assert tmp in str(err)  # names the file


@pytest.mark.parametrize("name", sorted(READERS))
def test_valid_seed_files_read(name: str, tmp_path: Path) -> None:
    files, target, read = READERS[name]
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text, encoding="utf8")
    assert len(read(tmp_path / target)) >= 1


@pytest.mark.parametrize("name", sorted(READERS))
def test_mutated_files_read_or_fail_clearly(name: str) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutated(READERS[name][0]))
    def check(files: Dict[str, bytes]) -> None:
        read_or_corpus_error(name, files)

    check()


@pytest.mark.parametrize("name", sorted(READERS))
def test_random_bytes_read_or_fail_clearly(name: str) -> None:
    files = READERS[name][0]

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(st.binary(max_size=200), min_size=len(files), max_size=len(files)))
    def check(contents: List[bytes]) -> None:
        read_or_corpus_error(name, dict(zip(sorted(files), contents)))

    check()
