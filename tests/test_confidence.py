"""Confidence: calibration, per-label thresholds from config and from `tune`, and ECE."""

from pathlib import Path

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_spanbert.cli import app
from spacy_spanbert.confidence import (
    expected_calibration_error,
    fit_temperature,
    scaled_sigmoid,
    scaled_softmax,
    tune_threshold,
)
from spacy_spanbert.tune import Outputs, calibrated_temperature

from .test_span_ner import flat_examples, span_tuples, train
from .util import make_nlp


def test_temperature_one_changes_nothing_and_rows_stay_distributions() -> None:
    probs = numpy.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert scaled_softmax(probs, 1.0) is probs
    hot = scaled_softmax(probs, 2.0)
    assert hot.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert hot[0, 0] < 0.7 and hot[1, 2] < 0.8  # softer
    assert scaled_sigmoid(numpy.array([0.5, 0.9]), 3.0)[0] == pytest.approx(0.5)


def test_fit_temperature_recovers_the_temperature_of_the_data() -> None:
    rng = numpy.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(5000, 3))
    true_probs = scaled_softmax(numpy.exp(logits) / numpy.exp(logits).sum(1, keepdims=True), 2.5)
    gold = numpy.array([rng.choice(3, p=row) for row in true_probs])
    overconfident = numpy.exp(logits) / numpy.exp(logits).sum(1, keepdims=True)

    def nll(t: float) -> float:
        scaled = scaled_softmax(overconfident, t)
        return float(-numpy.log(scaled[numpy.arange(len(gold)), gold]).mean())

    assert fit_temperature(nll) == pytest.approx(2.5, rel=0.1)


def test_calibration_fits_what_could_be_emitted_and_lowers_its_ece() -> None:
    rng = numpy.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(20000, 4))  # column 0: no entity
    overconfident = numpy.exp(logits) / numpy.exp(logits).sum(1, keepdims=True)
    true_top = scaled_softmax(overconfident, 2.5)[:, 1:].max(axis=1)
    right = rng.random(len(true_top)) < true_top  # the best label is right this often

    def outputs(temperature: float) -> Outputs:
        scaled = scaled_softmax(overconfident, temperature)[:, 1:]
        best = scaled.argmax(axis=1)
        return Outputs(best, scaled.max(axis=1), right, numpy.zeros(3, dtype="i"))

    temperature = calibrated_temperature(outputs, 1.0)
    assert temperature == pytest.approx(2.5, rel=0.1)
    before, after = outputs(1.0), outputs(temperature)
    emitted_before, emitted_after = before.scores >= 0.5, after.scores >= 0.5
    ece_before = expected_calibration_error(
        before.scores[emitted_before], before.correct[emitted_before]
    )
    ece_after = expected_calibration_error(
        after.scores[emitted_after], after.correct[emitted_after]
    )
    assert ece_after < ece_before / 2
    nothing = Outputs(*(numpy.zeros(0) for _ in range(4)))
    assert calibrated_temperature(lambda t: nothing, 1.3) == 1.3


def test_expected_calibration_error_by_hand() -> None:
    scores = numpy.array([0.95, 0.95, 0.55, 0.55])
    correct = numpy.array([True, True, False, True])
    # bin 9: mean score 0.95, all right: gap 0.05; bin 5: 0.55 against 0.5: gap 0.05
    assert expected_calibration_error(scores, correct) == pytest.approx(0.05)
    assert expected_calibration_error(numpy.zeros(0), numpy.zeros(0)) == 0.0


def test_threshold_for_best_f1_for_a_precision_target_and_for_little_evidence() -> None:
    scores = numpy.array([0.9, 0.8, 0.7, 0.6, 0.3])
    correct = numpy.array([True, True, False, True, False])
    best = tune_threshold(scores, correct, 4, default=0.5, min_support=1)
    assert best.threshold == 0.6 and best.f1 == pytest.approx(2 * 0.75 * 0.75 / 1.5)
    precise = tune_threshold(scores, correct, 4, default=0.5, target_precision=1.0, min_support=1)
    assert precise.threshold == 0.8 and precise.recall == 0.5
    rare = tune_threshold(scores, correct, 4, default=0.5, min_support=10)
    assert rare.threshold == 0.5 and "fewer than 10 gold examples" in rare.reason


@pytest.fixture(scope="module")
def trained(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    nlp = make_nlp(tiny_bert)
    train(nlp, flat_examples(nlp), n_iter=40)
    path = tmp_path_factory.mktemp("trained")
    nlp.to_disk(path / "model")
    DocBin(docs=[eg.reference for eg in flat_examples(nlp)]).to_disk(path / "dev.spacy")
    return path


def n_spans(nlp: Language) -> int:
    return sum(len(nlp(eg.reference.text).spans["sc"]) for eg in flat_examples(nlp))


def test_threshold_override_at_load_takes_effect(trained: Path) -> None:
    nlp = spacy.load(trained / "model")
    strict = spacy.load(
        trained / "model", config={"components": {"spanbert_ner": {"threshold": 1.01}}}
    )
    assert strict.get_pipe("spanbert_ner").cfg["threshold"] == 1.01
    assert n_spans(nlp) > 0 and n_spans(strict) == 0
    per_label = {"components": {"spanbert_ner": {"thresholds": {"LOC": 1.01}}}}
    no_loc = spacy.load(trained / "model", config=per_label)
    labels = {s.label_ for eg in flat_examples(no_loc) for s in no_loc(eg.reference.text).ents}
    assert "LOC" not in labels and labels


def test_tune_writes_thresholds_and_temperature_that_survive_reloading(
    trained: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "tune",
            str(trained / "model"),
            str(trained / "dev.spacy"),
            str(tmp_path / "tuned"),
            "--min-support",
            "1",
            "--plot",
            str(tmp_path / "reliability.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "temperature" in result.output and "expected calibration error" in result.output
    tuned = spacy.load(tmp_path / "tuned")
    ner = tuned.get_pipe("spanbert_ner")
    assert set(ner.cfg["thresholds"]) == {"LOC", "ORG", "PER"}
    assert tuned.config["components"]["spanbert_ner"]["thresholds"] == ner.cfg["thresholds"]
    assert ner.cfg["temperature"] != 1.0
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    for eg in flat_examples(tuned):  # still right on the data it was tuned on
        assert span_tuples(tuned(eg.reference.text).ents) == span_tuples(eg.reference.ents)


def test_bad_target_is_one_line(trained: Path, tmp_path: Path) -> None:
    args = ["tune", str(trained / "model"), str(trained / "dev.spacy"), str(tmp_path / "t")]
    result = CliRunner().invoke(app, [*args, "--target", "recall=0.9"])
    assert result.exit_code == 1 and "expected f1 or precision=P" in result.output


@pytest.mark.parametrize("decision", ["multilabel", "pair"])
def test_relation_outputs_are_scored_with_their_entities(decision: str) -> None:
    from spacy_spanbert.tune import RelationScores, _examples_before

    from .test_compat import FIXTURES
    from .test_relation import make_examples

    outputs = []
    for key in (None, "sc"):
        rel = {"decision": decision, "entity_scores_key": key}
        # softened entity scores: the fixture's entities are scored near 1.0
        config = {"components": {"spanbert_rel": rel, "spanbert_ner": {"temperature": 5.0}}}
        nlp = spacy.load(FIXTURES / "pipeline-0.2.0" / "model", config=config)
        gold = [eg.reference for eg in make_examples(nlp)]
        examples = _examples_before(nlp, nlp.pipe_names.index("spanbert_rel"), gold, False)
        data = RelationScores(nlp.get_pipe("spanbert_rel"), examples)
        assert len(data.entities) == len(data.probs)
        outputs.append((data.entities, data.outputs(1.0)))
    (alone, plain), (entities, joint) = outputs
    assert (alone == 1.0).all() and (entities < 0.99).all() and (entities > 0.0).all()
    assert (joint.scores < plain.scores).all()


@pytest.mark.parametrize("decision", ["multilabel", "pair"])
def test_tune_relations_over_predicted_and_given_entities(decision: str) -> None:
    from spacy_spanbert.tune import tune

    from .test_compat import FIXTURES
    from .test_relation import make_examples

    config = {"components": {"spanbert_rel": {"decision": decision}}}
    nlp = spacy.load(FIXTURES / "pipeline-0.2.0" / "model", config=config)
    gold = [eg.reference for eg in make_examples(nlp)]
    for given in (False, True):
        reports = tune(nlp, gold, min_support=1, given_entities=given)
        assert [r.name for r in reports] == ["spanbert_ner", "spanbert_rel"]
        rel = reports[1]
        assert set(rel.labels) == set(nlp.get_pipe("spanbert_rel").labels)
        assert 0.0 <= rel.ece_after <= 1.0 and rel.temperature > 0
        assert nlp.get_pipe_config("spanbert_rel")["thresholds"].keys() == rel.labels.keys()
