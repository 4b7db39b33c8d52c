"""TACRED (and Re-TACRED) JSON -> Docs with the subject, the object and their relation.

The file is one JSON list of ``{"id", "token": [...], "subj_start", "subj_end", "obj_start",
"obj_end", "subj_type", "obj_type", "relation"}`` with inclusive token offsets. The subject
and object become ``doc.ents`` (labelled with their types); ``relation`` is a relation from
the subject to the object, and ``no_relation`` is none (counted in the summary). Errors name
the record.
"""

from pathlib import Path
from typing import Any, List, Optional, Union

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import Relation, set_relations
from .char_offsets import as_offset
from .errors import CorpusError, read_json_list
from .summary import CorpusSummary

NO_RELATION = "no_relation"
FIELDS = ("token", "subj_start", "subj_end", "obj_start", "obj_end", "subj_type", "obj_type")


def read_tacred(
    path: Union[str, Path], vocab: Vocab, *, summary: Optional[CorpusSummary] = None
) -> List[Doc]:
    """Read a TACRED JSON file; one Doc per record, its id in ``doc.user_data``."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    records = read_json_list(path)
    docs = []
    no_relation = 0
    for index, record in enumerate(records):
        doc, subject, obj = _make_doc(path, index, record, vocab)
        relation = record.get("relation", NO_RELATION)
        if relation == NO_RELATION:
            no_relation += 1
        else:
            set_relations(doc, [Relation(subject, str(relation), obj)])
            summary.relations[str(relation)] += 1
        summary.count_doc(doc)
        docs.append(doc)
    if no_relation:
        summary.notes.append(f"{no_relation} records with {NO_RELATION}: no relation")
    return docs


def _make_doc(path: Path, index: int, record: Any, vocab: Vocab):
    missing = [name for name in FIELDS if not isinstance(record, dict) or name not in record]
    if missing:
        raise CorpusError(
            path, 0, f"the fields {', '.join(FIELDS)}", f"no {missing[0]}", record=index
        )
    tokens = record["token"]
    if (
        not isinstance(tokens, list)
        or not tokens
        or not all(isinstance(t, str) and t for t in tokens)
    ):
        raise CorpusError(path, 0, '"token", a list of non-empty strings', record=index)
    doc = Doc(vocab, words=tokens)
    mentions = []
    for role in ("subj", "obj"):
        try:
            start, end = as_offset(record[f"{role}_start"]), as_offset(record[f"{role}_end"]) + 1
        except (KeyError, TypeError, ValueError) as err:
            raise CorpusError(
                path, 0, f"integer {role}_start and {role}_end", record=index
            ) from err
        if not 0 <= start < end <= len(tokens):
            raise CorpusError(
                path,
                0,
                f"{role}_start <= {role}_end within the record's {len(tokens)} tokens",
                f"{start}..{end - 1}",
                record=index,
            )
        mentions.append(Span(doc, start, end, label=str(record[f"{role}_type"])))
    subject, obj = mentions
    if subject.end > obj.start and obj.end > subject.start:
        raise CorpusError(path, 0, "subject and object that do not overlap", record=index)
    doc.ents = sorted(mentions, key=lambda span: span.start)
    doc.user_data["id"] = str(record.get("id", index))
    return doc, subject, obj
