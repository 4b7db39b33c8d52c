"""The joint benchmark: its choice of sentence loss weight on dev, its ``--set`` overrides."""

from pathlib import Path
from typing import Dict

import pytest
from thinc.api import Config

from .util import benchmark_module

joint_intent_slots = benchmark_module("joint_intent_slots")
Settings = joint_intent_slots.Settings

ALONE = {"intent_accuracy": 0.98, "slot_f1": 0.85}
JOINT_CFG = Path(__file__).parent.parent / "configs" / "joint.cfg"
TEXTCAT_RATE = "components.spanbert_textcat.learn_rate_scale"


def dev(intent_accuracy: float, slot_f1: float) -> Dict[str, float]:
    return {"intent_accuracy": intent_accuracy, "slot_f1": slot_f1}


def test_weight_with_the_largest_smaller_margin_wins() -> None:
    runs = {"0.01": dev(0.96, 0.86), "0.03": dev(0.97, 0.84), "0.1": dev(0.99, 0.83)}
    assert joint_intent_slots.best_weight(runs, ALONE) == "0.03"
    assert [runs[w]["margin"] for w in runs] == pytest.approx([-0.02, -0.01, -0.02])


@pytest.mark.parametrize("later_slot_f1,chosen", [(0.86, "0.03"), (0.88, "0.1")])
def test_tie_on_the_smaller_margin_goes_to_the_larger_other(
    later_slot_f1: float, chosen: str
) -> None:
    runs = {"0.01": dev(0.97, 0.90), "0.03": dev(0.98, 0.87), "0.1": dev(0.98, later_slot_f1)}
    assert joint_intent_slots.best_weight(runs, ALONE) == chosen


def test_set_reaches_the_systems_with_that_head_only(tmp_path: Path) -> None:
    base = Config().from_disk(JOINT_CFG, interpolate=False)
    settings = Settings(joint_intent_slots.parse_settings([f"{TEXTCAT_RATE}=30"], base))
    runs, plain = {}, {}
    for system in ("joint", "spans_only", "sentence_only"):
        runs[system] = joint_intent_slots.training_run(
            base, tmp_path, {"training.seed": 0}, settings, system, "0.01"
        )
        plain[system] = joint_intent_slots.training_run(
            base, tmp_path, {"training.seed": 0}, Settings(), system, "0.01"
        )
    assert runs["joint"][2][TEXTCAT_RATE] == runs["sentence_only"][2][TEXTCAT_RATE] == "30"
    assert runs["spans_only"][1:] == plain["spans_only"][1:]  # same directory and overrides
    for system in ("joint", "sentence_only"):
        assert runs[system][1] != plain[system][1]
        assert {**plain[system][2], TEXTCAT_RATE: "30"} == runs[system][2]
    assert plain["joint"][2]["loss_weights.sentence"] == "0.01"


@pytest.mark.parametrize(
    "pair", ["components.spanbert_textcat.learn_rate_scale", "components.textcat.threshold=0.3"]
)
def test_set_rejects_what_joint_cfg_lacks(pair: str) -> None:
    base = Config().from_disk(JOINT_CFG, interpolate=False)
    with pytest.raises(SystemExit):
        joint_intent_slots.parse_settings([pair], base)


def test_joint_variant_reaches_the_joint_system_only(tmp_path: Path) -> None:
    base = Config().from_disk(JOINT_CFG, interpolate=False)
    variant = Settings(joint_variant="cats_conditioned")
    for system in ("spans_only", "sentence_only"):
        assert joint_intent_slots.training_run(
            base, tmp_path, {}, variant, system
        ) == joint_intent_slots.training_run(base, tmp_path, {}, Settings(), system)
    _, output, overrides = joint_intent_slots.training_run(base, tmp_path, {}, variant, "joint")
    _, plain_output, _ = joint_intent_slots.training_run(base, tmp_path, {}, Settings(), "joint")
    assert output != plain_output
    for key in joint_intent_slots.JOINT_VARIANTS["cats_conditioned"]:
        assert joint_intent_slots.has_setting(base, key)  # every override names a real setting
    assert overrides["components.spanbert_ner.model.use_doc_cats"] == "true"


def test_results_of_a_variant_go_to_a_file_of_their_own() -> None:
    results_name = joint_intent_slots.results_name
    assert results_name("atis", Settings()) == "joint-atis"
    name = results_name("atis", Settings({TEXTCAT_RATE: "30"}))
    assert name == "joint-atis-spanbert_textcat-learn_rate_scale-30"
    assert "/" not in results_name("atis", Settings({"paths.encoder": "/a/b"}))
    assert results_name("atis", Settings(joint_variant="cats_conditioned")) == (
        "joint-atis-cats_conditioned"
    )
