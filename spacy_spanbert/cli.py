"""Command line: ``python -m spacy_spanbert COMMAND`` (also installed as ``spacy-spanbert``).

A failing command prints one ``✘`` line and a hint and exits with 1; ``--verbose`` anywhere on
the command line shows the traceback instead.
"""

import errno
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Dict, List, Optional

import spacy
import srsly
import typer
from spacy.tokens import Doc, DocBin
from tqdm import tqdm
from wasabi import msg

from .annotate import annotate
from .annotate_ray import annotate_with_ray
from .confidence import reliability_diagram
from .corpus import CorpusError, CorpusSummary, read_conll
from .corpus.brat import read_brat
from .corpus.char_offsets import whitespace_tokens
from .corpus.doccano import read_doccano
from .corpus.intent_slots import read_intent_slots
from .corpus.label_studio import read_label_studio
from .corpus.nested_json import read_nested_json
from .corpus.prodigy import read_prodigy
from .corpus.raw_text import read_raw_text
from .corpus.relations_json import read_relations_json
from .corpus.semeval import read_semeval
from .corpus.tacred import read_tacred
from .evaluate import evaluation_examples, print_scores
from .explain import ExplainError, explain, explain_targets
from .export import export
from .loading import load_pipeline
from .pretraining import PretrainingSettings, pretrain, pretrain_from_scratch
from .relations import get_relations
from .render import describe_target, render_attributions, render_relations
from .tune import tune

app = typer.Typer(
    name="spacy-spanbert",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="SpanBERT-style span components for spaCy. Add --verbose to any command to see the "
    "traceback of a failure.",
)
EMPTY_REASONS = {
    "conll": "it holds only document separators (-DOCSTART-), comments or blank lines",
    "nested-json": "it holds only blank lines",
    "relations-json": "its JSON list of records is empty",
    "semeval": "it holds only blank lines",
    "tacred": "its JSON list of records is empty",
    "intent-slots": "its seq.in is empty",
    "raw-text": "it holds only blank lines",
    "brat": "it holds no .ann (or .a1/.a2) file with its .txt",
    "label-studio": "no task has an annotation that was not cancelled",
    "doccano": "it holds only blank lines",
    "prodigy": "it holds only blank lines or tasks not accepted",
}
# errors of a write that found no room: a full disk, a quota, a file-size limit
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# formats that read a folder themselves; for the others a folder means each file in it
FOLDER_FORMATS = ("intent-slots", "brat")


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class Format(str, Enum):
    conll = "conll"
    nested_json = "nested-json"
    relations_json = "relations-json"
    semeval = "semeval"
    tacred = "tacred"
    intent_slots = "intent-slots"
    raw_text = "raw-text"
    brat = "brat"
    label_studio = "label-studio"
    doccano = "doccano"
    prodigy = "prodigy"


class Alignment(str, Enum):
    strict = "strict"
    expand = "expand"
    contract = "contract"


class Discontinuous(str, Enum):
    split_fragments = "split"
    cover = "cover"
    skip = "skip"


class Choose(str, Enum):
    last_updated = "last-updated"
    first = "first"


class ExportFormat(str, Enum):
    brat = "brat"
    label_studio = "label-studio"
    doccano = "doccano"
    prodigy = "prodigy"


@app.command("convert")
def convert_cli(
    file_format: Format = typer.Argument(..., help="Input format"),
    input_path: Path = typer.Argument(
        ...,
        exists=True,
        help="Input file, or a folder (intent-slots and brat read theirs; other formats read "
        "each file in it, sorted)",
    ),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    lang: str = typer.Option("en", help="Language of the blank pipeline whose vocab is used"),
    scheme: str = typer.Option("auto", help="conll: iob1, iob2, bioes or auto"),
    n_sents: int = typer.Option(10, help="conll: sentences per document"),
    tag_columns: Optional[str] = typer.Option(
        None,
        help="conll: 1-based columns holding tag layers, outermost first, e.g. 3,4 "
        "(default: the last column, and the tag columns beside it that share its labels)",
    ),
    spans_key: str = typer.Option("sc", help="doc.spans key for spans"),
    lenient: bool = typer.Option(False, help="Repair what is repairable; every repair is reported"),
    intents: Optional[Path] = typer.Option(
        None, help="intent-slots: file with the full intent list"
    ),
    combine_intents: bool = typer.Option(
        False, help="intent-slots: 'a#b' is one label (for exclusive classes), not two"
    ),
    alignment: Alignment = typer.Option(
        Alignment.strict,
        help="brat, label-studio, doccano: character offsets inside a token are an error "
        "(strict), or snap outwards (expand) or inwards (contract)",
    ),
    discontinuous: Discontinuous = typer.Option(
        Discontinuous.split_fragments,
        help="brat: entities in fragments with text between them become one span per "
        "fragment (split), one span over all (cover), or none (skip)",
    ),
    pretokenized: bool = typer.Option(
        False,
        help="brat, label-studio, doccano: the text is tokenized already: split on whitespace only",
    ),
    text_key: str = typer.Option("text", help="label-studio: the data key holding the text"),
    choose: Choose = typer.Option(
        Choose.last_updated,
        help="label-studio: of a task's annotations that were not cancelled, the last updated "
        "or the first",
    ),
    predictions: bool = typer.Option(
        False, help="label-studio: read the tasks' predictions instead of their annotations"
    ),
) -> None:
    """Convert a data file into a DocBin, print what it holds, and stop at the first error."""
    columns = [int(c) for c in tag_columns.split(",")] if tag_columns else None
    nlp = spacy.blank(lang)
    make_doc = whitespace_tokens(nlp.vocab) if pretokenized else nlp.make_doc
    summary = CorpusSummary(str(input_path))
    readers: Dict[Format, Callable[[Path], List[Doc]]] = {
        Format.conll: lambda input_path: read_conll(
            input_path,
            nlp.vocab,
            scheme=scheme,
            n_sents=n_sents,
            lenient=lenient,
            tag_columns=columns,
            spans_key=spans_key,
            summary=summary,
        ),
        Format.nested_json: lambda input_path: read_nested_json(
            input_path, nlp.vocab, spans_key=spans_key, summary=summary
        ),
        Format.relations_json: lambda input_path: read_relations_json(
            input_path, nlp.vocab, spans_key=spans_key, summary=summary
        ),
        Format.semeval: lambda input_path: read_semeval(input_path, nlp.make_doc, summary=summary),
        Format.tacred: lambda input_path: read_tacred(input_path, nlp.vocab, summary=summary),
        Format.intent_slots: lambda input_path: read_intent_slots(
            input_path,
            nlp.vocab,
            spans_key=spans_key,
            intents=intents.read_text(encoding="utf8").split() if intents else None,
            lenient=lenient,
            combine_intents=combine_intents,
            summary=summary,
        ),
        Format.raw_text: lambda input_path: [
            nlp.make_doc(text) for text in read_raw_text(input_path)
        ],
        Format.brat: lambda input_path: read_brat(
            input_path,
            make_doc,
            spans_key=spans_key,
            alignment=alignment.value,
            discontinuous=discontinuous.value,
            summary=summary,
        ),
        Format.label_studio: lambda input_path: read_label_studio(
            input_path,
            make_doc,
            spans_key=spans_key,
            alignment=alignment.value,
            text_key=text_key,
            choose=choose.value,
            predictions=predictions,
            summary=summary,
        ),
        Format.doccano: lambda input_path: read_doccano(
            input_path, make_doc, spans_key=spans_key, alignment=alignment.value, summary=summary
        ),
        Format.prodigy: lambda input_path: read_prodigy(
            input_path, nlp.vocab, spans_key=spans_key, summary=summary
        ),
    }
    if input_path.is_dir() and file_format.value not in FOLDER_FORMATS:
        files = sorted(p for p in input_path.iterdir() if p.is_file() and p.name[0] != ".")
        if not files:
            msg.fail(f"{input_path} is a folder with no files", "Nothing was written.", exits=1)
    else:
        files = [input_path]
    try:
        docs = [doc for file in files for doc in readers[file_format](file)]
    except CorpusError as err:
        msg.fail("Conversion failed", str(err), exits=1)
    if not docs:
        why = "the file is empty" if _is_empty(input_path) else EMPTY_REASONS[file_format.value]
        msg.fail(f"No documents in {input_path}: {why}", "Nothing was written.", exits=1)
    if file_format == Format.raw_text:
        for doc in docs:
            summary.count_doc(doc)
    doc_bin = DocBin(store_user_data=True)
    for doc in tqdm(docs, desc="Writing", unit="doc", leave=False, disable=len(docs) < 10000):
        doc_bin.add(doc)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    partial = output_path.with_name(f".{output_path.name}.partial")
    doc_bin.to_disk(partial)
    os.replace(partial, output_path)
    summary.print()
    msg.good(f"Wrote {len(docs)} documents to {output_path}")


@app.command("export")
def export_cli(
    file_format: ExportFormat = typer.Argument(..., help="Annotation tool to write for"),
    input_path: Path = typer.Argument(
        ..., exists=True, help="annotate's output folder (or one shard), or a .spacy file"
    ),
    output: Path = typer.Argument(
        ..., help="brat: a folder; label-studio: a .json file; doccano, prodigy: a .jsonl file"
    ),
    lang: str = typer.Option("en", help="Language whose tokenizer the pipeline used"),
    spans_key: str = typer.Option("sc", help="doc.spans key of the spans (for .spacy input)"),
    text_key: str = typer.Option("text", help="label-studio: the data key for the text"),
    from_name: str = typer.Option("label", help="label-studio: the Labels tag's name"),
    to_name: str = typer.Option("text", help="label-studio: the Text tag's name"),
    model_version: str = typer.Option("spacy-spanbert", help="label-studio: model_version"),
    doccano_shape: str = typer.Option(
        "entities", help="doccano: entities (with relations) or label (spans only)"
    ),
    prodigy_view: str = typer.Option(
        "spans", help="prodigy: spans (spans.manual, rel.manual) or ner (ner.manual)"
    ),
) -> None:
    """Write predictions as pre-annotations that an annotation tool imports for correction:
    spans with their scores, relations, one document per task or file."""
    if doccano_shape not in ("entities", "label"):
        msg.fail(f"--doccano-shape {doccano_shape}: expected entities or label", exits=1)
    if prodigy_view not in ("spans", "ner"):
        msg.fail(f"--prodigy-view {prodigy_view}: expected spans or ner", exits=1)
    try:
        written = export(
            file_format.value,
            input_path,
            output,
            spacy.blank(lang).make_doc,
            spans_key=spans_key,
            text_key=text_key,
            from_name=from_name,
            to_name=to_name,
            model_version=model_version,
            doccano_shape=doccano_shape,
            prodigy_view=prodigy_view,
        )
    except CorpusError as err:
        msg.fail("Export failed", str(err), exits=1)
    msg.good(
        f"Wrote {written['documents']} documents, {written['spans']} spans and "
        f"{written['relations']} relations to {output}"
    )
    if file_format == ExportFormat.label_studio:
        msg.info(f"Labelling config that shows them: {output.with_suffix('.config.xml')}")


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Pipeline package name or directory"),
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="Gold .spacy file"),
    given_entities: bool = typer.Option(
        False, help="Put the gold entities on the docs first (relations over given entities)"
    ),
    spans_key: Optional[str] = typer.Option(
        None, help="With --given-entities: copy doc.spans[KEY] instead of doc.ents"
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON file to write"),
    batch_size: int = typer.Option(64, help="Documents per batch"),
    gpu_id: int = typer.Option(-1, help="GPU to run on (-1: CPU)"),
) -> None:
    """Score a pipeline on gold data with every scorer it has (relation scores included),
    print a table per label, and write the scores as JSON."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = load_pipeline(model)
    gold = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    if not gold:
        msg.fail(f"No documents in {data}", exits=1)
    examples = evaluation_examples(nlp, gold, given_entities=given_entities, spans_key=spans_key)
    scores = nlp.evaluate(examples, batch_size=batch_size)
    print_scores(scores)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, scores)
        msg.good(f"Wrote {output}")


@app.command("tune")
def tune_cli(
    model: str = typer.Argument(..., help="Trained pipeline package name or directory"),
    dev: Path = typer.Argument(..., exists=True, dir_okay=False, help="Gold dev .spacy file"),
    output: Path = typer.Argument(..., help="Directory for the tuned copy of the pipeline"),
    target: str = typer.Option(
        "f1", help="f1: best F1 per label; precision=0.95: the most recall at that precision"
    ),
    min_support: int = typer.Option(
        10, help="Labels with fewer gold dev examples keep the global threshold"
    ),
    calibrate: bool = typer.Option(True, help="Fit a temperature first (calibrated scores)"),
    given_entities: bool = typer.Option(
        False, help="Relations: put the gold entities on the docs (relations over given entities)"
    ),
    plot: Optional[Path] = typer.Option(None, help="Write a reliability diagram (PNG) here"),
) -> None:
    """Calibrate the scores of every spanbert_ner and spanbert_rel on dev (a temperature),
    pick a threshold per label on the calibrated scores, and write a copy of the pipeline
    with both in its config. The test split is never needed, and must not be used."""
    target_precision = None
    if target != "f1":
        name, _, value = target.partition("=")
        if name != "precision" or not value:
            msg.fail(f"--target {target}: expected f1 or precision=P, e.g. precision=0.95", exits=1)
        target_precision = float(value)
    nlp = load_pipeline(model)
    gold = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
    reports = tune(
        nlp,
        gold,
        target_precision=target_precision,
        min_support=min_support,
        given_entities=given_entities,
        calibrate=calibrate,
    )
    if not reports:
        msg.fail(f"{model} has no spanbert_ner or spanbert_rel to tune", exits=1)
    for report in reports:
        msg.divider(report.name)
        msg.info(
            f"temperature {report.temperature:.3f}; expected calibration error of what it "
            f"emits on dev: {report.ece_before:.4f} before, {report.ece_after:.4f} after"
        )
        rows = [
            (
                label,
                before.support,
                f"{before.threshold:.3f} -> {after.threshold:.3f}",
                f"{before.precision:.3f} -> {after.precision:.3f}",
                f"{before.recall:.3f} -> {after.recall:.3f}",
                f"{before.f1:.3f} -> {after.f1:.3f}",
                after.reason,
            )
            for label, (before, after) in report.labels.items()
        ]
        msg.table(rows, header=("label", "gold", "threshold", "P", "R", "F", ""), divider=True)
    nlp.to_disk(output)
    msg.good(f"Wrote the tuned pipeline to {output}")
    if plot is not None:
        curves = {f"{r.name} {when}": r.curves[when] for r in reports for when in r.curves}
        reliability_diagram(curves, str(plot), title=f"{Path(model).name} on {dev.name}")
        msg.good(f"Wrote the reliability diagram to {plot}")


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., help="Trained pipeline package name or directory"),
    input_path: Path = typer.Argument(
        ..., exists=True, help="JSON Lines file or folder, plain text (one doc a line), Parquet"
    ),
    output: Path = typer.Argument(..., help="Output folder: JSON Lines shards + manifest"),
    text_key: str = typer.Option("text", help="JSON/Parquet field holding the text"),
    id_key: str = typer.Option("id", help="JSON/Parquet field holding the id (else file:line)"),
    batch_size: int = typer.Option(64, help="Documents per nlp.pipe batch"),
    shard_size: int = typer.Option(10000, help="Input records per output shard"),
    n_process: int = typer.Option(1, help="Worker processes (CPU only)"),
    docbin: bool = typer.Option(False, help="Also write each shard as a spaCy DocBin"),
    gpu_id: int = typer.Option(-1, help="GPU to run on (-1: CPU; local engine)"),
    engine: Engine = typer.Option(Engine.local, help="local: nlp.pipe here; ray: Ray Data"),
    actors: int = typer.Option(1, help="Ray actors, each loading the pipeline once"),
    cpus_per_actor: float = typer.Option(1.0, help="CPUs per Ray actor (fractions allowed)"),
    gpus_per_actor: float = typer.Option(0.0, help="GPUs per Ray actor (0.5: two share one)"),
    address: Optional[str] = typer.Option(None, help="Ray cluster to join (default: local)"),
) -> None:
    """Annotate a corpus: entities, nested spans, relations and sentence labels with
    character offsets and scores, as JSON Lines shards that a rerun resumes."""
    try:
        if engine == Engine.ray:
            summary = annotate_with_ray(
                model,
                input_path,
                output,
                actors=actors,
                cpus_per_actor=cpus_per_actor,
                gpus_per_actor=gpus_per_actor,
                address=address,
                text_key=text_key,
                id_key=id_key,
                batch_size=batch_size,
                shard_size=shard_size,
                docbin=docbin,
            )
        else:
            if gpu_id >= 0:
                if n_process > 1:
                    msg.fail(
                        "--n-process runs on the CPU only", "Use one process on a GPU.", exits=1
                    )
                spacy.require_gpu(gpu_id)
            summary = annotate(
                load_pipeline(model),
                input_path,
                output,
                text_key=text_key,
                id_key=id_key,
                batch_size=batch_size,
                shard_size=shard_size,
                n_process=n_process,
                docbin=docbin,
            )
    except OSError as err:
        if err.errno not in DISK_FULL:
            raise
        msg.fail(
            f"Could not write to {output}: {err.strerror or err}",
            "Every shard already written is whole; make room and rerun the same command to resume.",
            exits=1,
        )
    msg.good(
        f"Annotated {summary.documents} documents into {output} "
        f"({summary.skipped_shards} finished shards skipped)"
    )
    for name, counts in (("entities", summary.entities), ("relations", summary.relations)):
        if counts:
            msg.table(sorted(counts.items()), header=(name, "count"), divider=True)
    if summary.errors:
        msg.warn(f"{summary.errors} records could not be read: see {output / 'errors.jsonl'}")


@app.command("check-install")
def check_install_cli(
    package: str = typer.Argument(..., help="Name of an installed pipeline package"),
    text: str = typer.Option("Apple hired Tim Cook in California .", help="Text to annotate"),
) -> None:
    """Load an installed pipeline package (no hub, no checkout) and annotate one text."""
    nlp = load_pipeline(package)
    doc = nlp(text)
    msg.good(f"Loaded {package}: pipeline {nlp.pipe_names}")
    msg.table(
        [(ent.text, ent.label_) for ent in doc.ents] or [("(no entities)", "")],
        header=("entity", "label"),
        divider=True,
    )


@app.command("pretrain")
def pretrain_cli(
    base: str = typer.Argument(
        ...,
        help="BERT checkpoint to continue from: directory or hub id; with --from-scratch, the "
        "size of a new one: tiny, mini, small or a BERT config.json",
    ),
    text: Path = typer.Argument(
        ..., exists=True, help="Raw text (one document per line) or .spacy"
    ),
    output: Path = typer.Argument(..., help="Output directory: a Hugging Face checkpoint"),
    tokenizer: Optional[str] = typer.Option(
        None, help="Tokenizer directory or hub id, for checkpoints that ship none"
    ),
    max_steps: int = typer.Option(1000, help="Optimizer steps"),
    batch_size: int = typer.Option(8, help="Blocks per device per step"),
    max_length: int = typer.Option(512, help="Wordpieces per [CLS] block [SEP] segment"),
    learning_rate: float = typer.Option(1e-4, help="Peak learning rate (linear decay)"),
    grad_accum: int = typer.Option(1, help="Gradient accumulation steps"),
    sbo_weight: float = typer.Option(1.0, help="Weight of the SBO loss beside the MLM loss"),
    objective: str = typer.Option(
        "span",
        help="span: span masking + SBO (SpanBERT); mlm: whole-word masking; token: single "
        "wordpieces (the original BERT's); no SBO but for span",
    ),
    from_scratch: bool = typer.Option(
        False,
        help="Train a WordPiece tokenizer on TEXT and a new BERT of size BASE, then pretrain it",
    ),
    vocab_size: int = typer.Option(16000, help="--from-scratch: wordpieces in the vocabulary"),
    lowercase: bool = typer.Option(
        True, "--lowercase/--cased", help="--from-scratch: lower-case the text, or keep case"
    ),
    head_warmup_steps: int = typer.Option(
        0, help="First steps that train only the output heads (for checkpoints without them)"
    ),
    bf16: bool = typer.Option(False, help="bf16 mixed precision"),
    fp16: bool = typer.Option(False, help="fp16 mixed precision (GPU)"),
    save_steps: int = typer.Option(500, help="Checkpoint every N steps (in OUTPUT/checkpoints)"),
    seed: int = typer.Option(0, help="Random seed (masking and training)"),
    resume: bool = typer.Option(False, help="Resume from the last checkpoint in OUTPUT"),
) -> None:
    """SpanBERT pretraining (span masking + span boundary objective) on raw text: continue a
    BERT checkpoint, or start a new one with --from-scratch.

    Runs under torchrun / accelerate launch for many GPUs or nodes."""
    if text.suffix == ".spacy":
        texts = [doc.text for doc in DocBin().from_disk(text).get_docs(spacy.blank("en").vocab)]
    else:
        texts = list(read_raw_text(text))
    settings = PretrainingSettings(
        max_steps=max_steps,
        batch_size=batch_size,
        max_length=max_length,
        learning_rate=learning_rate,
        gradient_accumulation_steps=grad_accum,
        sbo_weight=sbo_weight,
        objective=objective,
        head_warmup_steps=head_warmup_steps,
        bf16=bf16,
        fp16=fp16,
        save_steps=save_steps,
        seed=seed,
    )
    if from_scratch:
        msg.info(f"Pretraining a new {base} BERT on {len(texts)} documents from {text}")
        summary = pretrain_from_scratch(
            base,
            texts,
            output,
            vocab_size=vocab_size,
            lowercase=lowercase,
            settings=settings,
            resume=resume,
        )
        msg.info(
            f"Encoder of {summary['parameters']:,} parameters, vocabulary of "
            f"{summary['vocab_size']:,} wordpieces (in {output / 'initial'})"
        )
    else:
        msg.info(f"Pretraining {base} on {len(texts)} documents from {text}")
        summary = pretrain(
            base, texts, output, tokenizer_path=tokenizer, settings=settings, resume=resume
        )
    msg.good(
        f"Wrote {output}: loss {summary['first_logged_loss']} -> {summary['last_logged_loss']}, "
        f"{summary['tokens_per_second']:.0f} tokens/s; MLM head "
        f"{'loaded' if summary['mlm_head_loaded'] else 'initialised'}, SBO head "
        f"{'loaded' if summary['sbo_head_loaded'] else 'initialised'}"
    )


@app.command("explain")
def explain_cli(
    model: str = typer.Argument(..., help="Pipeline package name or directory"),
    text: str = typer.Argument(..., help="Text to annotate and explain"),
    span: Optional[str] = typer.Option(
        None, help="START:END (token offsets, END exclusive) of a span to explain, with --label"
    ),
    label: Optional[str] = typer.Option(None, help="The span's label (any label: why not?)"),
    relation: Optional[str] = typer.Option(
        None, help="HEAD_START:HEAD_END:LABEL:TAIL_START:TAIL_END between two found entities"
    ),
    cat: Optional[str] = typer.Option(None, help="A sentence label of spanbert_textcat"),
    method: str = typer.Option(
        "integrated_gradients", help="integrated_gradients, gradient_x_input or occlusion"
    ),
    steps: int = typer.Option(20, help="integrated_gradients: points on the path"),
    output: Path = typer.Option(Path("explain.html"), "--output", "-o", help="HTML to write"),
) -> None:
    """Why the pipeline predicts a span, a relation or a sentence label (or, with no target,
    each one it predicts): one attribution per word, as a table and an HTML heatmap."""
    nlp = load_pipeline(model)
    doc = nlp(text)
    try:
        targets = explain_targets(nlp, doc, span=span, label=label, relation=relation, cat=cat)
        explanations = [
            explain(nlp, doc, target, method=method, steps=steps)
            for target in tqdm(targets, desc="Explaining", unit="target", disable=len(targets) < 3)
        ]
    except ExplainError as err:
        msg.fail("Can't explain that", str(err), exits=1)
    for explanation in explanations:
        msg.divider(f"{describe_target(explanation)}: {explanation.probability:.4f}")
        msg.table(
            [(token.text, f"{score:+.4f}") for token, score in zip(doc, explanation.attributions)],
            header=("word", method),
            divider=True,
        )
    output.write_text(render_attributions(explanations), encoding="utf8")
    msg.good(f"Wrote {output} ({len(explanations)} explanations)")


@app.command("render")
def render_cli(
    model: str = typer.Argument(..., help="Pipeline package name or directory"),
    text: str = typer.Argument(..., help="Text to annotate"),
    output: Path = typer.Option(
        Path("relations.html"), "--output", "-o", help="HTML file to write"
    ),
) -> None:
    """Annotate a text and draw its entities and relations (displaCy style) to an HTML file."""
    nlp = load_pipeline(model)
    doc = nlp(text)
    output.write_text(render_relations(doc), encoding="utf8")
    msg.good(f"Wrote {output} ({len(doc.ents)} entities, {len(get_relations(doc))} relations)")


def _is_empty(path: Path) -> bool:
    if path.is_dir():
        return all(p.stat().st_size == 0 for p in path.iterdir() if p.is_file())
    return path.stat().st_size == 0


def main() -> None:
    """Run the command line; a failure is one line and a hint unless --verbose is given."""
    verbose = "--verbose" in sys.argv
    if verbose:
        sys.argv.remove("--verbose")
    try:
        app()
    except Exception as err:
        if verbose:
            raise
        text = " ".join(str(err).split()) or type(err).__name__
        msg.fail(f"{type(err).__name__}: {text}", "Run with --verbose to see the traceback.")
        sys.exit(1)
