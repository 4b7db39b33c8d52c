"""The README's usage example runs as written (with a tiny local encoder)."""

import re
from pathlib import Path

from spacy.util import fix_random_seed

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_usage_example_runs(tiny_bert: Path) -> None:
    code = re.search(r"## Usage.*?```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    fix_random_seed(0)
    namespace = {"ENCODER_DIR": str(tiny_bert)}
    exec(code.group(1), namespace)
    doc = namespace["doc"]
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("London", "LOC"), ("Berlin", "LOC")]
    assert len(doc.spans["sc"].attrs["scores"]) == len(doc.spans["sc"])
