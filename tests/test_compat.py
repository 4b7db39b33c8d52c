"""Pipelines saved by earlier versions still load and predict the same.

``tests/fixtures/pipeline-0.2.0`` is a small pipeline (tiny encoder; transformer,
spanbert_ner, spanbert_rel, spanbert_textcat) saved by version 0.2.0, with what it predicted
then in ``predictions.json``. Every later version must keep passing this test, or say in the
CHANGELOG why not. Regenerate the fixture of a new version (never overwrite an old one) with
``python -m tests.test_compat tests/fixtures/pipeline-X.Y.Z``.
"""

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import spacy
from spacy.language import Language

from spacy_spanbert import get_relations

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEXTS = [
    "Anna Smith works for Acme Corp in Paris today .",
    "Bob hired Anna Smith .",
    "I like London .",
]


def predictions(nlp: Language) -> List[Dict[str, Any]]:
    out = []
    for doc in nlp.pipe(TEXTS):
        out.append(
            {
                "ents": [[e.start, e.end, e.label_] for e in doc.ents],
                "spans": [[s.start, s.end, s.label_] for s in doc.spans["sc"]],
                "span_scores": [float(x) for x in doc.spans["sc"].attrs["scores"]],
                "relations": [
                    [r.head.start, r.label, r.tail.start, r.score] for r in get_relations(doc)
                ],
                "cats": doc.cats,
            }
        )
    return out


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("pipeline-*")), ids=lambda p: p.name)
def test_saved_pipeline_loads_and_predicts_the_same(fixture: Path) -> None:
    expected = json.loads((fixture / "predictions.json").read_text())
    nlp = spacy.load(fixture / "model")
    got = predictions(nlp)
    for now, then in zip(got, expected):
        assert now["ents"] == then["ents"] and now["spans"] == then["spans"]
        assert now["span_scores"] == pytest.approx(then["span_scores"], abs=1e-4)
        assert [r[:3] for r in now["relations"]] == [r[:3] for r in then["relations"]]
        assert [r[3] for r in now["relations"]] == pytest.approx(
            [r[3] for r in then["relations"]], abs=1e-4
        )
        assert now["cats"] == pytest.approx(then["cats"], abs=1e-4)


def test_there_is_a_fixture_of_this_version() -> None:
    import spacy_spanbert

    version = spacy_spanbert.__version__.split(".dev")[0]
    assert (FIXTURES / f"pipeline-{version}").is_dir()


def write_fixture(directory: Path) -> None:
    """Train the small pipeline on the relation tests' data and save it with its predictions."""
    from spacy.util import fix_random_seed

    from .test_relation import make_examples
    from .util import make_nlp, write_tiny_bert

    encoder = write_tiny_bert(directory / "encoder")
    nlp = make_nlp(encoder)
    nlp.add_pipe("spanbert_rel")
    nlp.add_pipe("spanbert_textcat")
    examples = make_examples(nlp)
    for i, eg in enumerate(examples):
        eg.reference.cats = {"A": float(i == 0), "B": float(i != 0)}
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(15):  # short of saturation, so the scores show any drift
        nlp.update(examples, sgd=optimizer, drop=0.0)
    nlp.to_disk(directory / "model")
    (directory / "predictions.json").write_text(json.dumps(predictions(nlp), indent=1) + "\n")
    for path in sorted((directory / "encoder").iterdir()):
        path.unlink()
    (directory / "encoder").rmdir()


if __name__ == "__main__":
    write_fixture(Path(sys.argv[1]))
