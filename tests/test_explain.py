"""Explanations: the probability explained is the one the pipeline writes, the attributions
are right (integrated gradients' completeness, occlusion's drops), nothing in the pipeline
changes, and the command writes a heatmap."""

from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from typer.testing import CliRunner

from spacy_spanbert import CatTarget, RelationTarget, SpanTarget, explain, get_relations
from spacy_spanbert.cli import app
from spacy_spanbert.explain import ExplainError, Probability, probability_without

pytest.importorskip("captum")
FIXTURE = Path(__file__).parent / "fixtures" / "pipeline-0.2.0" / "model"
TEXT = "Anna Smith works for Acme Corp in Paris ."


@pytest.fixture(scope="module")
def nlp() -> Language:
    return spacy.load(FIXTURE)


def encoder_state(nlp: Language) -> dict:
    module = next(s for n in nlp.get_pipe("transformer").model.walk() for s in n.shims)._model
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_the_probability_is_the_one_the_pipeline_writes(nlp: Language) -> None:
    doc = nlp(TEXT)
    group = doc.spans["sc"]
    for span, score in zip(group, group.attrs["scores"]):
        target = SpanTarget(span.start, span.end, span.label_)
        assert explain(nlp, doc, target, method="occlusion").probability == pytest.approx(
            float(score), abs=1e-5
        )
    for rel in get_relations(doc):
        explained = explain(
            nlp, doc, RelationTarget(rel.head, rel.label, rel.tail), method="occlusion"
        )
        assert explained.probability == pytest.approx(rel.score, abs=1e-5)
    for label, score in doc.cats.items():
        assert explain(nlp, doc, CatTarget(label), method="occlusion").probability == pytest.approx(
            score, abs=1e-5
        )


@pytest.mark.parametrize(
    "decision,scores_key", [("directed", None), ("pair", None), ("multilabel", "sc")]
)
def test_relation_decisions_and_entity_scores(nlp: Language, decision, scores_key) -> None:
    rel = nlp.get_pipe("spanbert_rel")
    saved = dict(rel.cfg)
    rel.cfg.update(decision=decision, entity_scores_key=scores_key, threshold=0.0)
    try:
        doc = nlp(TEXT)
        relations = get_relations(doc)
        assert relations
        for r in relations[:2]:
            target = RelationTarget(r.head, r.label, r.tail)
            assert explain(nlp, doc, target, method="occlusion").probability == pytest.approx(
                r.score, abs=1e-5
            )
    finally:
        rel.cfg.clear()
        rel.cfg.update(saved)


def test_gradient_matches_finite_differences(nlp: Language) -> None:
    doc = nlp(TEXT)
    with Probability(nlp, doc, CatTarget("A"), None) as probability:
        x = probability.embeddings().requires_grad_(True)
        (grad,) = torch.autograd.grad(probability.batch(x).sum(), x)
        direction = torch.randn_like(x)
        with torch.no_grad():
            eps = 1e-3
            numeric = (
                probability.batch(x + eps * direction) - probability.batch(x - eps * direction)
            ) / (2 * eps)
        assert float((grad * direction).sum()) == pytest.approx(float(numeric), rel=0.05, abs=1e-6)


@pytest.mark.parametrize(
    "target", [CatTarget("A"), SpanTarget(0, 2, "LOC"), SpanTarget(6, 8, "PER")]
)
def test_integrated_gradients_add_up_to_the_change_from_the_baseline(nlp: Language, target) -> None:
    doc = nlp(TEXT)
    explained = explain(nlp, doc, target, steps=64)
    baseline = probability_without(nlp, doc, target, list(range(len(doc))))
    change = explained.probability - baseline
    assert explained.attributions.sum() == pytest.approx(
        change, rel=0.1, abs=1e-3 * abs(change) + 1e-9
    )


def test_occlusion_is_the_drop_when_a_word_is_masked(nlp: Language) -> None:
    doc = nlp(TEXT)
    target = CatTarget("A")
    explained = explain(nlp, doc, target, method="occlusion")
    for i in (0, 4):
        drop = explained.probability - probability_without(nlp, doc, target, [i])
        assert explained.attributions[i] == pytest.approx(drop, abs=1e-6)


def test_long_docs_over_several_windows(nlp: Language) -> None:
    doc = nlp(" ".join([TEXT] * 6))  # 54 tokens; the fixture's windows hold 32 wordpieces
    assert doc._.trf_data.wordpieces.input_ids.shape[0] > 1
    explained = explain(nlp, doc, CatTarget("A"), method="gradient_x_input")
    assert explained.attributions.shape == (len(doc),)
    assert numpy.abs(explained.attributions[40:]).sum() > 0


def test_nothing_changes_and_nothing_is_left_behind(nlp: Language) -> None:
    before = encoder_state(nlp)
    doc = nlp(TEXT)
    predicted = (
        [(s.start, s.end, s.label_) for s in doc.spans["sc"]],
        list(doc.spans["sc"].attrs["scores"]),
    )
    dropouts = [dict(n.attrs) for n in nlp.get_pipe("spanbert_ner").model.walk()]
    explain(nlp, doc, SpanTarget(0, 2, "PER"), steps=4)
    with pytest.raises(ExplainError, match="no label 'XYZ'"):
        explain(nlp, doc, SpanTarget(0, 2, "XYZ"))
    after = encoder_state(nlp)
    assert all(torch.equal(before[k], after[k]) for k in before)
    module = next(s for n in nlp.get_pipe("transformer").model.walk() for s in n.shims)._model
    assert all(p.grad is None for p in module.parameters())
    assert [dict(n.attrs) for n in nlp.get_pipe("spanbert_ner").model.walk()] == dropouts
    again = nlp(TEXT)
    assert [(s.start, s.end, s.label_) for s in again.spans["sc"]] == predicted[0]
    assert list(again.spans["sc"].attrs["scores"]) == pytest.approx(predicted[1])


def test_int8_refuses_gradients_and_occludes() -> None:
    nlp = spacy.load(FIXTURE, config={"components.transformer.model.quantize": "int8"})
    doc = nlp(TEXT)
    with pytest.raises(ExplainError, match="int8-quantized"):
        explain(nlp, doc, CatTarget("A"))
    assert explain(nlp, doc, CatTarget("A"), method="occlusion").attributions.shape == (len(doc),)


def test_explain_command_writes_a_heatmap(tmp_path: Path) -> None:
    out = tmp_path / "explain.html"
    result = CliRunner().invoke(
        app, ["explain", str(FIXTURE), TEXT, "--span", "0:2", "--label", "LOC", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "LOC &quot;Anna Smith&quot;" in html and html.count("<mark") == 9
    result = CliRunner().invoke(
        app, ["explain", str(FIXTURE), TEXT, "--relation", "0:1:X:4:6", "-o", str(out)]
    )
    assert result.exit_code == 1 and "must be entities the pipeline found" in " ".join(
        result.output.split()
    )
    result = CliRunner().invoke(
        app, ["explain", str(FIXTURE), TEXT, "--method", "occlusion", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "Work_For" in out.read_text()
