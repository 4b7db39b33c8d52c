"""Errors that name the file, the line (or record) and what was expected; strict line reading."""

import gzip
import json
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Optional, Tuple, Union, cast

from tqdm import tqdm

# Files larger than this show a progress bar while they are read.
PROGRESS_BYTES = 5_000_000
GZIP_MAGIC = b"\x1f\x8b"


class CorpusError(ValueError):
    """Bad input in a data file: names the file, the line or record, and what was expected.

    line: 1-based line number; 0 for the file as a whole. record: the 0-based index of a
    record in a JSON list, given instead of a line.
    """

    def __init__(
        self,
        path: Union[str, Path],
        line: int,
        expected: str,
        found: str = "",
        *,
        record: Optional[int] = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.record = record
        self.expected = expected
        self.found = found
        if record is not None:
            where = f"{path}: record {record}"
        elif line:
            where = f"{path}:{line}"
        else:
            where = str(path)
        found_text = f"; found {found!r}" if found else ""
        super().__init__(f"{where}: expected {expected}{found_text}")


def open_data_file(path: Union[str, Path]) -> IO[bytes]:
    """A user's data file opened for reading bytes: gzip-compressed files are read through
    gzip; a directory or a missing file is a CorpusError."""
    path = Path(path)
    if path.is_dir():
        raise CorpusError(path, 0, "a file", "a directory")
    if not path.is_file():
        raise CorpusError(path, 0, "an existing file", "nothing at that path")
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return cast(IO[bytes], gzip.open(path, "rb")) if compressed else path.open("rb")


@contextmanager
def gzip_errors(path: Union[str, Path]) -> Iterator[None]:
    """A compressed file that is cut short or corrupt, as a CorpusError naming it."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CorpusError(path, 0, "a whole gzip-compressed file", str(err)) from err


def read_text(path: Union[str, Path]) -> str:
    """The whole of a user's UTF-8 text file (a leading byte-order mark removed)."""
    with open_data_file(path) as file_, gzip_errors(path):
        data = file_.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise CorpusError(path, line, "UTF-8 text", f"byte {data[err.start]:#x}") from err


def read_json_list(path: Union[str, Path]) -> list:
    """A user's JSON file holding one list of records."""
    try:
        records = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise CorpusError(path, err.lineno, f"a JSON list of records ({err.msg})") from err
    if not isinstance(records, list):
        raise CorpusError(path, 0, "a JSON list of records", type(records).__name__)
    return records


def read_lines(path: Union[str, Path]) -> Iterator[Tuple[int, str]]:
    """Yield (1-based line number, line without its line ending) from a UTF-8 file (or a
    gzip-compressed one). A leading byte-order mark is removed; a byte sequence that is not
    UTF-8 raises CorpusError with its line number. Large files show a progress bar."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    with (
        open_data_file(path) as file_,
        gzip_errors(path),
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            desc=f"Reading {path.name}",
            leave=False,
            disable=size < PROGRESS_BYTES,
        ) as progress,
    ):
        for line_no, raw in enumerate(file_, start=1):
            progress.update(len(raw))
            try:
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf8")
            except UnicodeDecodeError as err:
                raise CorpusError(
                    path,
                    line_no,
                    "UTF-8 text",
                    f"byte {raw[err.start]:#x} at column {err.start + 1}",
                ) from err
            yield line_no, line.rstrip("\r\n")


def read_json_lines(path: Union[str, Path]) -> Iterator[Tuple[int, object]]:
    """Yield (1-based line number, parsed JSON value) of each non-blank line of a JSON Lines
    file; a line that is not JSON raises CorpusError with its number."""
    for line_no, line in read_lines(path):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(
                path, line_no, f"one JSON value per line ({err.msg})", line[:60]
            ) from err
