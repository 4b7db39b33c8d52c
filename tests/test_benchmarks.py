"""The benchmarks' README tables are the ones its results files give, and the pieces that
make the side-by-side systems keep every setting but the head."""

import subprocess
import sys
from pathlib import Path

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
