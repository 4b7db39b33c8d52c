"""Files written whole or not at all: through a partial file beside them, then renamed; a
failed write (a full disk) removes its partial file."""

import json
import os
from pathlib import Path
from typing import Any, Iterable


def write_json_lines(path: Path, records: Iterable[Any]) -> None:
    """Write one JSON value per line to ``path``; a crash leaves no partial ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    """Write one JSON value to ``path``; a crash leaves no partial ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
