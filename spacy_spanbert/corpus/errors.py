"""Errors that name the file, the line and what was expected; strict line reading."""

from pathlib import Path
from typing import Iterator, Tuple, Union


class CorpusError(ValueError):
    """Bad input in a data file: names the file, the line (or record) and what was expected."""

    def __init__(self, path: Union[str, Path], line: int, expected: str, found: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.expected = expected
        self.found = found
        found_text = f"; found {found!r}" if found else ""
        super().__init__(f"{path}:{line}: expected {expected}{found_text}")


def read_lines(path: Union[str, Path]) -> Iterator[Tuple[int, str]]:
    """Yield (1-based line number, line without newline) from a UTF-8 file.

    A byte sequence that is not UTF-8 raises CorpusError with its line number.
    """
    path = Path(path)
    with path.open("rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as err:
                raise CorpusError(
                    path,
                    line_no,
                    "UTF-8 text",
                    f"byte {raw[err.start]:#x} at column {err.start + 1}",
                ) from err
            yield line_no, line.rstrip("\r\n")
