"""Raw text for pretraining: one document per line, or blank-line separated paragraphs."""

from pathlib import Path
from typing import Iterator, Union

from .errors import read_lines


def read_raw_text(path: Union[str, Path], *, blank_line_separated: bool = False) -> Iterator[str]:
    """Yield the documents of a UTF-8 text file, stripped; empty documents are skipped.

    A non-UTF-8 line raises CorpusError naming the file and line.
    """
    paragraph = []
    for _, line in read_lines(path):
        if not blank_line_separated:
            if line.strip():
                yield line.strip()
            continue
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            yield " ".join(paragraph)
            paragraph = []
    if paragraph:
        yield " ".join(paragraph)
