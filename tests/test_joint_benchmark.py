"""The joint benchmark's choice of sentence loss weight on dev."""

from typing import Dict

import pytest

from .util import benchmark_module

joint_intent_slots = benchmark_module("joint_intent_slots")

ALONE = {"intent_accuracy": 0.98, "slot_f1": 0.85}


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
