"""Label Studio's JSON export in, and tasks with predictions out.

Reading: the file is a JSON list of tasks. Each task's text is ``data[text_key]``; of its
annotations that were not cancelled, ``choose`` picks one: ``last-updated`` (the latest
``updated_at``, then ``created_at``; on a tie the later one in the list) or ``first``. Tasks
with none are skipped and counted. In the chosen annotation's ``result``:

- ``labels`` results are spans (``value.start``, ``value.end``, ``value.labels``: one span per
  label); results about one region share an ``id``;
- ``relation`` results (``from_id``, ``to_id``, ``direction``, ``labels``) are relations,
  one per label: ``right`` from ``from_id`` to ``to_id``, ``left`` the other way, ``bi`` both;
  a relation without a label is skipped and counted;
- other result types (choices, text areas, ratings) are skipped and counted.

Each region's ``value.text`` is checked against the text. Where Label Studio wrote UTF-16
offsets (texts with emoji), they are converted to characters and counted.

Writing: one task per document with ``data[text_key]`` and, as ``predictions`` (or
``annotations``), its spans with scores and its relations, under the labelling config's
``from_name`` and ``to_name``; ``labeling_config`` gives a config that shows them.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union
from xml.sax.saxutils import quoteattr

from spacy.tokens import Doc, Span

from ..relations import Relation, get_relations
from .char_offsets import OffsetError, as_offset, char_span, utf16_to_code_points
from .errors import CorpusError, read_json_list
from .layout import doc_spans, set_layout, span_key
from .output import write_json
from .summary import CorpusSummary

CHOOSE = ("last-updated", "first")
DIRECTIONS = ("right", "left", "bi")


def read_label_studio(
    path: Union[str, Path],
    make_doc: Callable[[str], Doc],
    *,
    spans_key: str = "sc",
    alignment: str = "strict",
    text_key: str = "text",
    choose: str = "last-updated",
    predictions: bool = False,
    summary: Optional[CorpusSummary] = None,
) -> List[Doc]:
    """Read a Label Studio JSON export; one Doc per task with an annotation (with
    ``predictions``, the tasks' first prediction instead)."""
    path = Path(path)
    summary = summary if summary is not None else CorpusSummary(str(path))
    docs = []
    for index, task in enumerate(read_json_list(path)):
        doc = _read_task(
            path,
            index,
            task,
            make_doc,
            spans_key,
            alignment,
            text_key,
            choose,
            predictions,
            summary,
        )
        if doc is not None:
            docs.append(doc)
    return docs


def _read_task(
    path: Path,
    index: int,
    task: Any,
    make_doc: Callable[[str], Doc],
    spans_key: str,
    alignment: str,
    text_key: str,
    choose: str,
    predictions: bool,
    summary: CorpusSummary,
) -> Optional[Doc]:
    data = task.get("data") if isinstance(task, dict) else None
    text = data.get(text_key) if isinstance(data, dict) else None
    if not isinstance(text, str):
        raise CorpusError(
            path, 0, f'a Label Studio task with its text in "data"."{text_key}"', record=index
        )
    results = _chosen_results(path, index, task, choose, predictions, summary)
    if results is None:
        return None
    doc = make_doc(text)
    regions: Dict[str, List[Span]] = {}
    relation_results = []
    for i, result in enumerate(results):
        kind = result.get("type") if isinstance(result, dict) else None
        if kind == "relation":
            relation_results.append((i, result))
        elif kind == "labels":
            spans = _region(path, index, i, result, doc, alignment, summary)
            regions.setdefault(str(result.get("id", f"#{i}")), []).extend(spans)
        else:
            summary.skipped[f"Label Studio results of type {kind}"] += 1
    relations = []
    for i, result in relation_results:
        relations.extend(_relations(path, index, i, result, regions, summary))
    set_layout(
        doc,
        [span for spans in regions.values() for span in spans],
        relations,
        spans_key=spans_key,
        summary=summary,
    )
    return doc


def _chosen_results(
    path: Path,
    index: int,
    task: Dict[str, Any],
    choose: str,
    predictions: bool,
    summary: CorpusSummary,
) -> Optional[List[Any]]:
    key = "predictions" if predictions else "annotations"
    annotations = task.get(key) or []
    if not isinstance(annotations, list):
        raise CorpusError(path, 0, f'"{key}": a list', record=index)
    kept = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if len(kept) < len(annotations):
        summary.skipped["cancelled Label Studio annotations"] += len(annotations) - len(kept)
    if not kept:
        summary.skipped[f"Label Studio tasks without {key}"] += 1
        return None
    if len(kept) > 1:
        summary.changed[f"tasks with several {key}: one chosen ({choose})"] += 1
    if choose == "first":
        chosen = kept[0]
    else:
        order = [(str(a.get("updated_at") or ""), str(a.get("created_at") or "")) for a in kept]
        chosen = kept[max(range(len(kept)), key=lambda i: (order[i], i))]
    results = chosen.get("result", [])
    if not isinstance(results, list):
        raise CorpusError(path, 0, '"result": a list', record=index)
    return results


def _region(
    path: Path,
    index: int,
    i: int,
    result: Dict[str, Any],
    doc: Doc,
    alignment: str,
    summary: CorpusSummary,
) -> List[Span]:
    value = result.get("value")
    region_id = result.get("id", f"#{i}")
    if not isinstance(value, dict):
        raise CorpusError(
            path, 0, f'region {region_id}: a "value" object', json.dumps(value)[:80], record=index
        )
    try:
        start, end = as_offset(value["start"]), as_offset(value["end"])
        labels = value["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise TypeError("labels")
    except (KeyError, TypeError, ValueError) as err:
        raise CorpusError(
            path,
            0,
            f'region {region_id}: "value" with integer "start", "end" and a list of "labels"',
            json.dumps(value)[:80],
            record=index,
        ) from err
    start, end = _code_points(path, index, region_id, doc.text, start, end, value, summary)
    spans = []
    for label in labels:
        try:
            span = char_span(
                doc,
                start,
                end,
                label,
                alignment=alignment,
                summary=summary,
                describe=lambda: f"region {region_id}",
            )
        except OffsetError as err:
            raise CorpusError(path, 0, err.expected, err.found, record=index) from err
        if span is not None:
            spans.append(span)
    return spans


def _code_points(
    path: Path,
    index: int,
    region_id: str,
    text: str,
    start: int,
    end: int,
    value: Dict[str, Any],
    summary: CorpusSummary,
) -> Tuple[int, int]:
    """The region's offsets in characters: as written, or converted from UTF-16 code units
    where only that reading gives the region's ``value.text``."""
    written = value.get("text")
    if not isinstance(written, str) or text[start:end] == written:
        return start, end
    index16 = utf16_to_code_points(text)
    if index16 is not None and 0 <= start < end < len(index16):
        start16, end16 = index16[start], index16[end]
        if text[start16:end16] == written:
            summary.changed["Label Studio regions converted from UTF-16 offsets"] += 1
            return start16, end16
    raise CorpusError(
        path,
        0,
        f"region {region_id}'s text {written!r} at its offsets {start}-{end}",
        text[start:end],
        record=index,
    )


def _relations(
    path: Path,
    index: int,
    i: int,
    result: Dict[str, Any],
    regions: Dict[str, List[Span]],
    summary: CorpusSummary,
) -> List[Relation]:
    from_id, to_id = str(result.get("from_id")), str(result.get("to_id"))
    for ref in (from_id, to_id):
        if ref not in regions:
            raise CorpusError(
                path,
                0,
                f"relation result {i}: from_id and to_id naming labelled regions of the task",
                f"no region {ref}",
                record=index,
            )
    direction = result.get("direction", "right")
    if direction not in DIRECTIONS:
        raise CorpusError(
            path,
            0,
            f"relation result {i}: direction right, left or bi",
            str(direction),
            record=index,
        )
    labels = result.get("labels") or []
    if not labels:
        summary.skipped["Label Studio relations without a label"] += 1
        return []
    pairs = {"right": [(from_id, to_id)], "left": [(to_id, from_id)]}.get(
        direction, [(from_id, to_id), (to_id, from_id)]
    )
    relations = []
    for head_id, tail_id in pairs:
        head, tail = regions[head_id], regions[tail_id]
        for label in labels:
            if not head or not tail:
                summary.lost_relations.append(
                    f"{path}: record {index}: relation {head_id} -> {tail_id} ({label})"
                )
            else:
                relations.append(Relation(head[0], str(label), tail[0]))
    return relations


def write_label_studio(
    docs: Iterable[Tuple[str, Doc]],
    output_path: Union[str, Path],
    *,
    spans_key: str = "sc",
    text_key: str = "text",
    from_name: str = "label",
    to_name: str = "text",
    model_version: str = "spacy-spanbert",
    as_annotations: bool = False,
) -> Counter:
    """Write each (id, doc) as a Label Studio task (``meta.id``: the id) whose
    ``predictions`` (or ``annotations``) hold its spans and relations. Returns counts of
    what was written."""
    written: Counter = Counter()
    tasks = []
    for doc_id, doc in docs:
        results: List[Dict[str, Any]] = []
        ids: Dict[Tuple[int, int, str], str] = {}
        scores = []
        for span, score in doc_spans(doc, spans_key):
            ids[span_key(span)] = region_id = f"s{len(ids) + 1}"
            result: Dict[str, Any] = {
                "id": region_id,
                "from_name": from_name,
                "to_name": to_name,
                "type": "labels",
                "value": {
                    "start": span.start_char,
                    "end": span.end_char,
                    "text": span.text,
                    "labels": [span.label_],
                },
            }
            if score is not None:
                result["score"] = score
                scores.append(score)
            results.append(result)
            written["spans"] += 1
        for rel in get_relations(doc):
            results.append(
                {
                    "from_id": ids[span_key(rel.head)],
                    "to_id": ids[span_key(rel.tail)],
                    "type": "relation",
                    "direction": "right",
                    "labels": [rel.label],
                }
            )
            written["relations"] += 1
        annotation: Dict[str, Any] = {"result": results}
        if as_annotations:
            tasks.append(
                {"data": {text_key: doc.text}, "meta": {"id": doc_id}, "annotations": [annotation]}
            )
        else:
            annotation["model_version"] = model_version
            if scores:
                annotation["score"] = min(scores)
            tasks.append(
                {"data": {text_key: doc.text}, "meta": {"id": doc_id}, "predictions": [annotation]}
            )
        written["documents"] += 1
    write_json(Path(output_path), tasks)
    return written


def labeling_config(
    entity_labels: Iterable[str],
    relation_labels: Iterable[str],
    *,
    text_key: str = "text",
    from_name: str = "label",
    to_name: str = "text",
) -> str:
    """A Label Studio labelling config for spans and relations with these labels."""
    relations = "".join(f"\n    <Relation value={quoteattr(x)}/>" for x in sorted(relation_labels))
    labels = "".join(f"\n    <Label value={quoteattr(x)}/>" for x in sorted(entity_labels))
    return (
        "<View>\n"
        f"  <Relations>{relations}\n  </Relations>\n"
        f"  <Labels name={quoteattr(from_name)} toName={quoteattr(to_name)}>{labels}\n"
        "  </Labels>\n"
        f"  <Text name={quoteattr(to_name)} value={quoteattr('$' + text_key)}/>\n"
        "</View>\n"
    )
