"""Annotating a corpus on Ray: the same shards, manifest and errors as ``annotate``, written
by a pool of Ray Data actors that each load the pipeline once.

The driver plans the shards (one pass over the input that notes where each shard's lines
start; no parsing), skips the finished ones, and hands the rest to ``map_batches`` as small
rows of byte ranges. Each actor reads its ranges with the local engine's own reader, so every
record keeps its ``file:line`` and a bad line reaches the errors file, annotates them and
writes the shard whole. Output is identical to ``--engine local`` and either engine resumes
the other's work.
"""

import itertools
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy
import spacy
from tqdm import tqdm

from .annotate import (
    AnnotateError,
    AnnotateSummary,
    ShardSettings,
    collect_errors,
    file_records,
    input_files,
    shard_path,
    start_output,
    write_shard,
)
from .corpus.errors import open_data_file
from .loading import load_pipeline

ACTOR_RETRIES = 3
"""Restarts of a dead actor, and retries of its shard, before the run fails."""
Piece = Tuple[str, int, int, int]
"""Part of a shard in one file: path, byte offset, first line (Parquet: row), records."""


def plan_shards(input_path: Union[str, Path], shard_size: int) -> List[List[Piece]]:
    """The pieces of each shard: shard ``i`` holds records ``i * shard_size`` onwards in the
    order ``read_records`` gives them, the same shards as the local engine's."""
    shards: List[List[Piece]] = [[]]
    filled = 0
    for file in input_files(input_path):
        first: Optional[Tuple[int, int]] = None  # (offset, number) where the open piece starts
        count = 0
        for offset, number in _record_starts(file):
            first = first or (offset, number)
            count += 1
            filled += 1
            if filled == shard_size:
                shards[-1].append((str(file), *first, count))
                shards.append([])
                first, count, filled = None, 0, 0
        if first is not None:
            shards[-1].append((str(file), *first, count))
    return [shard for shard in shards if shard]


def _record_starts(file: Path) -> Iterator[Tuple[int, int]]:
    """(byte offset, line or row number) of each record of one input file."""
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(file).metadata.num_rows
        yield from ((0, row) for row in range(1, rows + 1))
        return
    with open_data_file(file) as stream:
        for number in itertools.count(1):
            offset = stream.tell()
            if not stream.readline():
                return
            yield offset, number


class ShardAnnotator:
    """A Ray Data actor: loads the pipeline once, then annotates whole shards."""

    def __init__(
        self,
        model: str,
        output_dir: str,
        settings: Dict[str, Any],
        keys: Tuple[str, str],
        use_gpu: bool,
        threads: int,
    ) -> None:
        import torch

        torch.set_num_threads(threads)
        if use_gpu:
            spacy.require_gpu(0)  # Ray shows each actor only the GPUs it was given
        self.nlp = load_pipeline(model)
        self.output_dir = Path(output_dir)
        self.settings = ShardSettings(**settings)
        self.text_key, self.id_key = keys

    def __call__(self, batch: Dict[str, numpy.ndarray]) -> Dict[str, List[Any]]:
        out: Dict[str, List[Any]] = {"records": [], "summary": []}
        for index, pieces in zip(batch["index"], batch["pieces"]):
            records = [
                record
                for path, offset, first, count in json.loads(pieces)
                for record in itertools.islice(
                    file_records(
                        Path(path),
                        text_key=self.text_key,
                        id_key=self.id_key,
                        offset=offset,
                        first=first,
                    ),
                    count,
                )
            ]
            summary = write_shard(self.nlp, records, self.output_dir, int(index), self.settings)
            out["records"].append(len(records))
            out["summary"].append(
                json.dumps(
                    [
                        summary.documents,
                        summary.skipped_shards,
                        summary.entities,
                        summary.relations,
                    ]
                )
            )
        return out


def annotate_with_ray(
    model: Union[str, Path],
    input_path: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    text_key: str = "text",
    id_key: str = "id",
    batch_size: int = 64,
    shard_size: int = 10000,
    docbin: bool = False,
    spans_key: str = "sc",
    actors: int = 1,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    address: Optional[str] = None,
) -> AnnotateSummary:
    """Annotate every record of ``input_path`` into shards under ``output_dir`` with
    ``actors`` Ray actors, each given ``cpus_per_actor`` CPUs and ``gpus_per_actor`` GPUs
    (fractions share one). ``model`` is a pipeline directory or package that every node can
    load. Joins the Ray cluster at ``address``, or the running or a new local instance."""
    try:
        import ray
    except ImportError as err:
        raise ImportError('The Ray engine needs Ray: pip install "spacy-spanbert[ray]"') from err
    if not ray.is_initialized():  # before the pipeline loads: Ray forks its processes
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
    output_dir = Path(output_dir)
    settings = ShardSettings(batch_size, 1, docbin, spans_key)
    start_output(
        load_pipeline(model), input_path, output_dir, text_key, id_key, shard_size, settings
    )
    shards = plan_shards(input_path, shard_size)
    summary = AnnotateSummary()
    todo = []
    for index, pieces in enumerate(shards):
        if shard_path(output_dir, index).exists():
            summary.skipped_shards += 1
        else:
            todo.append((index, pieces))
    if todo:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_options.verbose_progress = False
        results = ray.data.from_items(
            [{"index": i, "pieces": json.dumps(p)} for i, p in todo]
        ).map_batches(
            ShardAnnotator,
            fn_constructor_kwargs={
                "model": str(model),
                "output_dir": str(output_dir.resolve()),
                "settings": vars(settings),
                "keys": (text_key, id_key),
                "use_gpu": gpus_per_actor > 0,
                "threads": max(1, round(cpus_per_actor)),
            },
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=cpus_per_actor,
            num_gpus=gpus_per_actor,
            # an actor that dies (killed, out of memory) is restarted and its shard retried,
            # a bounded number of times: a shard that kills every actor ends the run
            max_restarts=ACTOR_RETRIES,
            max_task_retries=ACTOR_RETRIES,
        )
        total = sum(count for _, pieces in todo for *_, count in pieces)
        with tqdm(desc="Annotating", unit="doc", total=total) as progress:
            try:
                for row in results.iter_rows():
                    documents, skipped, entities, relations = json.loads(str(row["summary"]))
                    summary.add(
                        AnnotateSummary(
                            documents, 0, skipped, Counter(entities), Counter(relations)
                        )
                    )
                    progress.update(row["records"])
            except ray.exceptions.RayError as err:
                if not isinstance(err, ray.exceptions.RayActorError) and not isinstance(
                    getattr(err, "cause", None), ray.exceptions.RayActorError
                ):
                    raise
                raise AnnotateError(
                    f"a Ray actor died on a shard {ACTOR_RETRIES + 1} times (killed, out of "
                    f"memory?); the shards in {output_dir} are whole and a rerun resumes"
                ) from err
    summary.errors = collect_errors(output_dir)
    return summary
