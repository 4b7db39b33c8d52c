"""``nlp.pipe(n_process=2)`` works without the user touching PyTorch's threads."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import sys, torch
from pathlib import Path
from spacy.training import Example
from tests.util import make_nlp
nlp = make_nlp(Path(sys.argv[1]))
doc = nlp.make_doc("I like London")
nlp.initialize(lambda: [Example.from_dict(doc, {"entities": [(7, 13, "LOC")]})])
assert torch.get_num_threads() > 1
texts = ["I like London and Berlin ."] * 20
single = [[e.text for e in d.ents] for d in nlp.pipe(texts)]  # the thread pool is in use
multi = [[e.text for e in d.ents] for d in nlp.pipe(texts, n_process=2)]
assert multi == single and torch.get_num_threads() > 1
print("ok")
"""


@pytest.mark.cpu_only  # a forked process can't use CUDA
def test_n_process_does_not_hang(tiny_bert: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_bert)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
