"""The benchmarks' README tables are the ones its results files give, and the pieces that
make the side-by-side systems keep every setting but the head."""

import subprocess
import sys
from pathlib import Path

import pytest
from common import with_system  # benchmarks/ (pytest's pythonpath)
from joint_intent_slots import flat_settings
from thinc.api import Config

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_readme_tables_match_the_results_files() -> None:
    check = [sys.executable, str(ROOT / "benchmarks" / "results_table.py"), "--check"]
    result = subprocess.run(check, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_system_replaces_the_head_and_keeps_the_rest() -> None:
    base = Config().from_disk(ROOT / "configs" / "ner.cfg", interpolate=False)
    config = with_system(base, ROOT / "benchmarks" / "configs" / "spacy_spancat.cfg")
    assert config["nlp"]["pipeline"] == ["transformer", "spancat"]
    assert "spanbert_ner" not in config["components"]
    assert config["components"]["transformer"] == base["components"]["transformer"]
    assert config["training"]["optimizer"] == base["training"]["optimizer"]
    assert config["training"]["score_weights"]["spans_sc_f"] == 1.0
    assert base["nlp"]["pipeline"] == ["transformer", "spanbert_ner"]  # base untouched


def test_joint_overrides_become_spacy_train_overrides() -> None:
    settings = Config().from_disk(ROOT / "benchmarks" / "configs" / "cats_conditioned.cfg")
    overrides = dict(flat_settings(settings))
    assert overrides == {
        "nlp.pipeline": '["transformer", "spanbert_textcat", "spanbert_ner"]',
        "components.spanbert_ner.model.@architectures": "spacy_spanbert.SpanBoundaryModel.v2",
        "components.spanbert_ner.model.use_doc_cats": "true",
        "training.annotating_components": '["transformer", "spanbert_textcat"]',
    }


ARTICLE = """<article><articleinfo><bibliomisc>MEDLINE:1</bibliomisc></articleinfo>
<title><sentence>A <cons sem="G#protein">p53</cons> title.</sentence></title>
<abstract><sentence>First <cons sem="G#x"><cons sem="G#y">IL-2</cons> gene</cons>.</sentence>
<sentence>Second.</sentence></abstract></article>"""
LATER_COPY = """<article><articleinfo><bibliomisc>MEDLINE:1</bibliomisc></articleinfo>
<title><sentence>Later copy.</sentence></title></article>"""


@pytest.mark.parametrize(
    "articles,expected",
    [([ARTICLE], "A p53 title. First IL-2 gene. Second."), ([ARTICLE, LATER_COPY], "Later copy.")],
)
def test_genia_abstracts_drop_markup_and_take_the_later_copy(
    tmp_path: Path, articles, expected: str
) -> None:
    from genia_abstracts import abstracts

    path = tmp_path / "genia.xml"
    path.write_text('<?xml version="1.0"?><set>' + "".join(articles) + "</set>", encoding="utf8")
    assert abstracts(path) == {"MEDLINE:1": expected}


def test_genia_pretraining_text_is_the_training_split_only() -> None:
    import genia_abstracts

    if not genia_abstracts.XML.exists():
        pytest.skip("needs ../shared/data/genia")
    texts = genia_abstracts.training_abstracts()
    everything = genia_abstracts.abstracts(genia_abstracts.XML)
    held_out = {everything[i] for s in ("dev", "test") for i in genia_abstracts.split_ids(s)}
    assert len(texts) == 1601 and not held_out & set(texts)


def test_confidence_counts_what_was_emitted_against_gold() -> None:
    import numpy
    import spacy
    from confidence import ece, ece_floor, outcomes
    from spacy.tokens import Span
    from spacy.training import Example

    from spacy_spanbert.relations import Relation, set_relations

    nlp = spacy.blank("en")
    words = "Anna Smith works for Acme in Paris".split()
    gold, pred = (spacy.tokens.Doc(nlp.vocab, words=words) for _ in range(2))
    gold.ents = [Span(gold, 0, 2, "PER"), Span(gold, 4, 5, "ORG"), Span(gold, 6, 7, "LOC")]
    pred.spans["sc"] = [Span(pred, 0, 2, "PER"), Span(pred, 4, 5, "LOC"), Span(pred, 4, 7, "ORG")]
    pred.spans["sc"].attrs["scores"] = numpy.array([0.9, 0.6, 0.3])
    pred.ents = [Span(pred, 0, 2, "PER"), Span(pred, 4, 5, "LOC")]
    set_relations(gold, [Relation(gold.ents[0], "Work_For", gold.ents[1])])
    set_relations(pred, [Relation(pred.ents[0], "Work_For", pred.ents[1], 0.8)])
    counts, scored = outcomes([Example(pred, gold)], "ents")
    assert counts.tolist() == [[1, 1, 2]]
    assert scored.ravel().tolist() == pytest.approx([0.9, 1.0, 0.6, 0.0])
    assert ece(scored) == pytest.approx((0.1 + 0.6) / 2)
    calibrated = numpy.random.default_rng(1).random((20000, 2)).astype("f")
    calibrated[:, 1] = numpy.random.default_rng(2).random(20000) < calibrated[:, 0]
    assert ece(calibrated) < 0.01 and ece_floor(calibrated) < 0.01
    assert ece_floor(scored) > ece_floor(calibrated)  # two outputs: a large floor
    counts, scored = outcomes([Example(pred, gold)], "relations")  # the tail's type differs
    assert counts.tolist() == [[0, 1, 1]] and scored.ravel().tolist() == pytest.approx([0.8, 0.0])
