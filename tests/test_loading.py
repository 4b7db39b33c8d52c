"""A saved pipeline cut short, naming an unknown architecture, or with encoder weights that
don't fit its config fails with one line naming the path and the component."""

import shutil
from pathlib import Path
from typing import Callable

import pytest
import srsly
from typer.testing import CliRunner

from spacy_spanbert.cli import app
from spacy_spanbert.loading import PipelineLoadError, load_pipeline

FIXTURE = Path(__file__).parent / "fixtures" / "pipeline-0.2.0" / "model"


def cut_ner_weights(path: Path) -> None:
    weights = path / "spanbert_ner" / "model"
    weights.write_bytes(weights.read_bytes()[:100])


def unknown_architecture(path: Path) -> None:
    config = path / "config.cfg"
    config.write_text(
        config.read_text().replace(
            "spacy_spanbert.RelationModel.v2", "spacy_spanbert.RelationModel.v9"
        )
    )


def encoder_with_another_depth(path: Path) -> None:
    weights = path / "transformer" / "model"
    message = srsly.msgpack_loads(weights.read_bytes())
    shim = srsly.msgpack_loads(message["shims"][1][0])
    shim["config"]["num_hidden_layers"] += 1
    message["shims"][1][0] = srsly.msgpack_dumps(shim)
    weights.write_bytes(srsly.msgpack_dumps(message))


CASES = [
    (cut_ner_weights, r"component spanbert_ner: .*spanbert_ner can't be read .*Unpack failed"),
    (
        unknown_architecture,
        r"component spanbert_rel: unknown architectures function "
        r"'spacy_spanbert.RelationModel.v9' \(this installation has "
        r"spacy_spanbert.RelationModel.v1, spacy_spanbert.RelationModel.v2\)",
    ),
    (encoder_with_another_depth, r"component transformer: the encoder's weights .* don't fit"),
]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    path = tmp_path / "model"
    shutil.copytree(FIXTURE, path)
    return path


@pytest.mark.parametrize("damage,match", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_damaged_pipeline_names_path_and_component(
    copy: Path, damage: Callable[[Path], None], match: str
) -> None:
    damage(copy)
    with pytest.raises(PipelineLoadError, match=match) as info:
        load_pipeline(copy)
    assert str(copy) in str(info.value)


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "{model}", "{data}"],
        ["render", "{model}", "A b ."],
        ["annotate", "{model}", "{data}", "{out}"],
    ],
)
def test_every_command_fails_in_one_line(copy: Path, tmp_path: Path, command: list) -> None:
    cut_ner_weights(copy)
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "A b ."}\n')
    args = [a.format(model=copy, data=data, out=tmp_path / "out") for a in command]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, PipelineLoadError)  # main() prints it as one line
    assert "component spanbert_ner" in str(result.exception)


def test_an_intact_pipeline_loads_without_warnings(recwarn: pytest.WarningsRecorder) -> None:
    nlp = load_pipeline(FIXTURE)
    assert nlp.pipe_names == ["transformer", "spanbert_ner", "spanbert_rel", "spanbert_textcat"]
    assert not [w for w in recwarn if "strict" in str(w.message)]
