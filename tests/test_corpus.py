"""Readers: counts against ../shared/data/README.md, and clear errors on malformed files."""

from pathlib import Path
from typing import Dict

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_spanbert.corpus import CorpusError, CorpusSummary, read_conll
from spacy_spanbert.corpus.intent_slots import read_intent_slots
from spacy_spanbert.corpus.nested_json import read_nested_json
from spacy_spanbert.corpus.raw_text import read_raw_text
from spacy_spanbert.corpus.relations_json import read_relations_json
from spacy_spanbert.relations import get_relations

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")
VOCAB = spacy.blank("en").vocab


def summary_of(reader, path: Path, **kwargs) -> CorpusSummary:
    summary = CorpusSummary(str(path))
    reader(path, VOCAB, summary=summary, **kwargs)
    return summary


# (file, sentences, tokens, entities per label) from ../shared/data/README.md
CONLL_COUNTS = [
    (
        "conll2003/iob2/train.txt",
        14041,
        203621,
        {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600},
    ),
    ("conll2003/iob2/valid.txt", 3250, 51362, {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842}),
    (
        "conll2003/iob1_original/eng.train",
        14041,
        203621,
        {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600},
    ),
    (
        "conll2003/iob1_original/eng.testb",
        3453,
        46435,
        {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617},
    ),
    (
        "wnut17/wnut17train.conll",
        3394,
        62730,
        {
            "person": 660,
            "location": 548,
            "corporation": 221,
            "product": 142,
            "creative-work": 140,
            "group": 264,
        },
    ),
    (
        "wnut17/emerging.dev.conll",
        1009,
        15733,
        {
            "person": 470,
            "location": 74,
            "corporation": 34,
            "product": 114,
            "creative-work": 105,
            "group": 39,
        },
    ),
    (
        "wnut17/emerging.test.annotated",
        1287,
        23394,
        {
            "person": 429,
            "location": 150,
            "corporation": 66,
            "product": 127,
            "creative-work": 142,
            "group": 165,
        },
    ),
]


@needs_data
@pytest.mark.parametrize(
    "name,sentences,tokens,entities", CONLL_COUNTS, ids=[c[0] for c in CONLL_COUNTS]
)
def test_conll_counts_match_published(
    name: str, sentences: int, tokens: int, entities: Dict[str, int]
) -> None:
    summary = summary_of(read_conll, DATA / name)
    assert (summary.sentences, summary.tokens, dict(summary.entities)) == (
        sentences,
        tokens,
        entities,
    )
    assert not summary.repairs
    scheme = "iob1" if "iob1" in name else "iob2"
    assert any(note.startswith(f"tag scheme: {scheme} (auto: ") for note in summary.notes)
    if name.startswith("conll2003"):  # token POS chunk NER: the chunk column is no layer
        assert any("column 3 has syntactic chunk tags" in note for note in summary.notes)


@needs_data
def test_conll_iob1_and_iob2_copies_agree() -> None:
    iob1 = read_conll(DATA / "conll2003/iob1_original/eng.testa", VOCAB, scheme="iob1")
    iob2 = read_conll(DATA / "conll2003/iob2/valid.txt", VOCAB, scheme="iob2")
    as_tuples = lambda docs: [[(e.start, e.end, e.label_) for e in d.ents] for d in docs]  # noqa: E731
    assert as_tuples(iob1) == as_tuples(iob2)
    # documents follow -DOCSTART- in both forms (-X- O O and -X- -X- O), 216 in testa
    assert (
        sum(1 for _ in read_conll(DATA / "conll2003/iob2/valid.txt", VOCAB, n_sents=10**6)) == 216
    )


@needs_data
@pytest.mark.parametrize(
    "split,sentences,mentions", [("train", 15038, 46203), ("dev", 1765, 4714), ("test", 1732, 5119)]
)
def test_genia_counts(split: str, sentences: int, mentions: int) -> None:
    summary = summary_of(read_nested_json, DATA / f"genia/jsonl/{split}.jsonl")
    assert summary.documents == sentences and sum(summary.spans.values()) == mentions
    assert sum(summary.entities.values()) + summary.not_in_ents == mentions


@needs_data
@pytest.mark.parametrize(
    "name,utterances,tokens,slots,multi",
    [
        ("snips/train", 13084, 117700, 33958, 0),
        ("snips/test", 700, 6354, 1790, 0),
        ("atis/train", 4478, 50497, 14851, 23),
        ("atis/test", 893, 9164, 2837, 15),
    ],
)
def test_intent_slot_counts(
    name: str, utterances: int, tokens: int, slots: int, multi: int
) -> None:
    docs = read_intent_slots(DATA / name, VOCAB)
    assert len(docs) == utterances and sum(len(d) for d in docs) == tokens
    assert sum(len(d.spans["sc"]) for d in docs) == slots
    assert sum(1 for d in docs if sum(d.cats.values()) > 1) == multi


@needs_data
@pytest.mark.parametrize(
    "split,sentences,entities,relations",
    [("train", 922, 3377, 1283), ("valid", 231, 893, 343), ("test", 288, 1079, 422)],
)
def test_conll04_counts_and_relations_survive_docbin(
    split: str, sentences: int, entities: int, relations: int
) -> None:
    summary = CorpusSummary(split)
    docs = read_relations_json(
        DATA / f"conll04/two_are_better/{split}.CoNLL04.json", VOCAB, summary=summary
    )
    assert (len(docs), sum(summary.entities.values()), sum(summary.relations.values())) == (
        sentences,
        entities,
        relations,
    )
    restored = list(
        DocBin(docs=docs, store_user_data=True)
        .from_bytes(DocBin(docs=docs, store_user_data=True).to_bytes())
        .get_docs(VOCAB)
    )
    assert [len(get_relations(d)) for d in restored] == [len(get_relations(d)) for d in docs]


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf8")
    return path


@pytest.mark.parametrize(
    "content,line,expected",
    [
        ("EU B-ORG\nrejects O\n\nGerman B-MISC extra\n", 4, "expected 2 whitespace-separated"),
        ("EU O\nrejects I-ORG\n", 2, "'I-ORG' to continue an open ORG entity"),
        ("EU B-ORG\nrejects X_ORG\n", 2, "PREFIX-LABEL"),
        ("EU\tB-ORG\nrejects\tE-MISC\n", 2, "E-MISC"),
    ],
    ids=["columns", "iob2-orphan-I", "unknown-tag", "bioes-orphan-E"],
)
def test_conll_errors_name_file_and_line(
    tmp_path: Path, content: str, line: int, expected: str
) -> None:
    path = write(tmp_path, "bad.conll", content)
    scheme = "iob2" if "orphan-I" in expected or "I-ORG" in expected else "auto"
    with pytest.raises(CorpusError, match=expected) as err:
        read_conll(path, VOCAB, scheme=scheme)
    assert err.value.line == line and str(path) in str(err.value)


def test_conll_lenient_repairs_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "repair.conll", "EU O\nrejects I-ORG\nit I-ORG\n")
    summary = CorpusSummary(str(path))
    docs = read_conll(path, VOCAB, scheme="iob2", lenient=True, summary=summary)
    assert [(e.start, e.end, e.label_) for e in docs[0].ents] == [(1, 3, "ORG")]
    assert len(summary.repairs) == 1 and f"{path}:2" in summary.repairs[0]


def test_conll_auto_detects_iob1_and_bioes(tmp_path: Path) -> None:
    iob1 = write(tmp_path, "iob1.conll", "EU I-ORG\nUN B-ORG\nrejects O\n")
    assert [(e.start, e.end) for e in read_conll(iob1, VOCAB)[0].ents] == [(0, 1), (1, 2)]
    bioes = write(tmp_path, "bioes.conll", "New B-LOC\nYork E-LOC\nis O\nbig S-MISC\n")
    assert [(e.start, e.end, e.label_) for e in read_conll(bioes, VOCAB)[0].ents] == [
        (0, 2, "LOC"),
        (3, 4, "MISC"),
    ]


def test_unknown_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown tag scheme 'bilou2'"):
        read_conll(write(tmp_path, "x.conll", "a O\n"), VOCAB, scheme="bilou2")


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.conll"
    path.write_bytes("EU B-ORG\n\nM\u00fcnchen B-LOC\n".encode("latin-1"))
    with pytest.raises(CorpusError, match="UTF-8") as err:
        read_conll(path, VOCAB)
    assert err.value.line == 3


def test_nested_json_span_past_the_sentence(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "n.jsonl",
        '{"tokens": ["IL-2", "gene"], "entity_mentions": []}\n'
        '{"tokens": ["IL-2"], "entity_mentions": [{"start": 0, "end": 2, "entity_type": "DNA"}]}\n',
    )
    with pytest.raises(CorpusError, match="within the sentence's 1 tokens") as err:
        read_nested_json(path, VOCAB)
    assert err.value.line == 2


def test_nested_json_keeps_overlaps_in_spans_and_counts_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "n.jsonl",
        '{"tokens": ["IL-2", "gene", "expression"], "entity_mentions": ['
        '{"start": 0, "end": 2, "entity_type": "DNA"}, '
        '{"start": 0, "end": 1, "entity_type": "protein"}]}\n',
    )
    summary = CorpusSummary(str(path))
    doc = read_nested_json(path, VOCAB, summary=summary)[0]
    assert len(doc.spans["sc"]) == 2 and [(e.start, e.end) for e in doc.ents] == [(0, 2)]
    assert summary.not_in_ents == 1


def test_relation_naming_a_missing_entity(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.json",
        '[{"tokens": ["Bob", "works", "at", "Acme"], "entities": [[0, 1, "Peop"]],'
        ' "relations": [[0, 1, 3, 4, "Work_For"]]}]',
    )
    with pytest.raises(CorpusError, match="no entity at tokens \\[3, 4\\]") as err:
        read_relations_json(path, VOCAB)
    assert err.value.record == 0


def test_intent_slot_length_mismatch(tmp_path: Path) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    write(folder, "seq.in", "play some jazz\nwake me up\n")
    write(folder, "seq.out", "O O B-genre\nO O\n")
    write(folder, "label", "PlayMusic\nSetAlarm\n")
    with pytest.raises(CorpusError, match="3 tags, one per token of seq.in line 2") as err:
        read_intent_slots(folder, VOCAB)
    assert err.value.line == 2
    write(folder, "label", "PlayMusic\n")
    with pytest.raises(CorpusError, match="2 lines, as in seq.in"):
        read_intent_slots(folder, VOCAB)


def test_intent_slot_multi_intent_lines(tmp_path: Path) -> None:
    """A ``a#b`` line: two cats (multi-label) by default, one combined cat with
    ``combine_intents`` (one label per utterance, for a softmax classifier)."""
    folder = tmp_path / "split"
    folder.mkdir()
    write(folder, "seq.in", "fares and flights\nflights\nflights with fares\n")
    write(folder, "seq.out", "O O O\nO\nO O O\n")
    write(folder, "label", "airfare#flight\nflight\nflight#airfare\n")
    split_docs = read_intent_slots(folder, VOCAB)
    assert split_docs[0].cats == {"airfare": 1.0, "flight": 1.0}
    assert split_docs[1].cats == {"airfare": 0.0, "flight": 1.0}
    combined = read_intent_slots(folder, VOCAB, combine_intents=True)
    assert combined[0].cats == {"airfare#flight": 1.0, "flight": 0.0}
    assert combined[1].cats == {"airfare#flight": 0.0, "flight": 1.0}
    assert combined[2].cats == combined[0].cats  # the same set of intents, the same label
    assert all(sum(doc.cats.values()) == 1.0 for doc in combined)


def test_raw_text_documents(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.txt", "first doc\n\nsecond\ndoc\n")
    assert list(read_raw_text(path)) == ["first doc", "second", "doc"]
    assert list(read_raw_text(path, blank_line_separated=True)) == ["first doc", "second doc"]
