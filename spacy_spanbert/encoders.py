"""Loading Hugging Face encoders for the ``transformer`` component: local directories or hub
ids, including SpanBERT's released layout.

A hub id is looked up in the local Hugging Face cache first (``HF_HOME``, ``HF_HUB_CACHE``),
with no network traffic; only when it is not cached, and the hub is not switched off
(``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``), is it looked up once on the hub and its config,
weights and tokenizer files downloaded into that cache.

SpanBERT's releases ship ``config.json`` (sometimes without ``model_type``) and weights, but no
tokenizer files: they use bert-base-cased's (or bert-large-cased's) vocabulary. Loading such a
checkpoint naively either fails or, worse, silently builds a lower-casing tokenizer for a cased
model. :func:`load_encoder` pairs SpanBERT's hub ids with their vocabularies, takes a separate
tokenizer otherwise, decides casing from the vocabulary itself, and refuses a tokenizer whose
casing contradicts its vocabulary.
"""

import json
import re
from pathlib import Path
from typing import Any, Dict, Optional, Union

import requests
import torch
from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from spacy_transformers.data_classes import HFObjects
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase
from wasabi import msg

TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "spm.model",
    "sentencepiece.bpe.model",
)
# Share of ordinary vocabulary entries with a capital letter above which a vocabulary is cased.
CASED_VOCAB_SHARE = 0.01
# What is fetched of a hub checkpoint: config, PyTorch weights, tokenizer files.
HUB_FILES = [
    "*.json",
    "*.safetensors",
    "pytorch_model*.bin",
    "sbo_head.bin",
    "*.txt",
    "*.model",
]
# SpanBERT's releases ship no tokenizer; their authors pair them with these vocabularies.
SPANBERT_VOCABULARIES = {
    "SpanBERT/spanbert-base-cased": "bert-base-cased",
    "SpanBERT/spanbert-large-cased": "bert-large-cased",
}
# Seconds to wait for the hub's answer when an id is not cached.
HUB_PROBE_TIMEOUT = 10.0
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class EncoderError(ValueError):
    """An encoder can't be loaded as it is named; the message says what to change."""


def load_encoder(
    name: Optional[Union[str, Path]],
    *,
    tokenizer: Optional[Union[str, Path]] = None,
    revision: Optional[str] = None,
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    model_type: str = "bert",
    model_cls: Any = AutoModel,
) -> HFObjects:
    """Load tokenizer and model from a local directory or a Hugging Face hub id.

    name: a checkpoint directory (config.json + weights) or a hub id such as
        ``SpanBERT/spanbert-base-cased`` (cached, or downloaded once into the HF cache).
    tokenizer: a directory or hub id with the tokenizer files, when ``name`` has none.
        SpanBERT's hub ids get their documented vocabulary (bert-base-cased's or
        bert-large-cased's) when this is not set.
    revision: a branch, tag or commit of a hub id (default: main).
    tokenizer_config: keyword arguments for ``AutoTokenizer.from_pretrained``. Without
        ``do_lower_case`` and without a ``tokenizer_config.json``, casing follows the vocabulary.
    transformer_config: keyword arguments for the model config (e.g. dropout).
    model_type: used only when config.json has no ``model_type`` (SpanBERT's does not).
    model_cls: the transformers Auto class to load (AutoModelForMaskedLM for pretraining).
    """
    name_setting = "[components.transformer.model] name"
    model_dir = resolve_checkpoint(name, "encoder checkpoint", name_setting, revision=revision)
    config = _load_config(model_dir, model_type, transformer_config or {})
    tok_dir = model_dir
    if tokenizer is None and str(name) in SPANBERT_VOCABULARIES and not _has_tokenizer(model_dir):
        tokenizer = SPANBERT_VOCABULARIES[str(name)]
        msg.info(f"{name} ships no tokenizer: using {tokenizer}'s vocabulary, case kept")
    if tokenizer is not None:
        tok_dir = resolve_checkpoint(
            tokenizer, "tokenizer", "[components.transformer.model] tokenizer"
        )
    hf_tokenizer = _load_tokenizer(tok_dir, model_dir, config, dict(tokenizer_config or {}))
    pad_ids = (hf_tokenizer.pad_token_id, getattr(config, "pad_token_id", None))
    if None not in pad_ids and pad_ids[0] != pad_ids[1]:
        raise EncoderError(
            f"The tokenizer from '{tok_dir}' pads with token {pad_ids[0]}, but the encoder "
            f"'{name}' expects {pad_ids[1]}: the tokenizer is from another model family. Set "
            "[components.transformer.model] tokenizer to the encoder's own vocabulary."
        )
    if len(hf_tokenizer) > config.vocab_size:
        raise EncoderError(
            f"The tokenizer from '{tok_dir}' has {len(hf_tokenizer)} entries, but the encoder "
            f"'{name}' embeds only {config.vocab_size}: they belong to different models. Set "
            "[components.transformer.model] tokenizer to the encoder's own vocabulary."
        )
    transformer = model_cls.from_pretrained(
        str(model_dir), config=config, torch_dtype=torch.float32
    )
    return HFObjects(hf_tokenizer, transformer, _vocab_file_contents(hf_tokenizer))


def load_local_encoder(
    path: Optional[Union[str, Path]],
    *,
    tokenizer_path: Optional[Union[str, Path]] = None,
    **kwargs: Any,
) -> HFObjects:
    """:func:`load_encoder` under its name before 0.2.0 (``tokenizer_path``: ``tokenizer``)."""
    return load_encoder(path, tokenizer=tokenizer_path, **kwargs)


def resolve_checkpoint(
    name: Optional[Union[str, Path]], what: str, setting: str, *, revision: Optional[str] = None
) -> Path:
    """The local directory of ``name``: itself when it is a directory, else the snapshot of
    hub id ``name`` in the Hugging Face cache, downloaded first if it is not cached and the
    hub is not switched off. Errors name ``setting``, the config setting to change."""
    if name is None:
        raise EncoderError(f"No {what} given: set {setting} (e.g. --paths.encoder DIR_OR_HUB_ID).")
    if Path(name).is_dir():
        return Path(name)
    repo_id = str(name)
    if not HUB_ID.match(repo_id) or revision is not None and not revision.strip():
        raise EncoderError(
            f"The {what} '{name}' (set by {setting}) is neither a local directory nor a "
            "Hugging Face hub id such as 'SpanBERT/spanbert-base-cased'."
        )
    try:
        return Path(_hub_snapshot(repo_id, revision, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    cache = constants.HF_HUB_CACHE
    ways_out = (
        f"Download it once where the hub is reachable (huggingface-cli download {repo_id}), "
        f"or set {setting} to a local directory."
    )
    if constants.HF_HUB_OFFLINE:
        raise EncoderError(
            f"The {what} '{repo_id}' is not a local directory and not in the Hugging Face "
            f"cache ({cache}), and the hub is switched off (HF_HUB_OFFLINE). {ways_out}"
        )
    try:
        HfApi().model_info(repo_id, revision=revision, timeout=HUB_PROBE_TIMEOUT)
        return Path(_hub_snapshot(repo_id, revision, local_files_only=False))
    except GatedRepoError as err:
        raise EncoderError(
            f"The {what} '{repo_id}' is gated on the Hugging Face hub: accept its terms on "
            f"its page and log in (huggingface-cli login), or set {setting} to a local directory."
        ) from err
    except RevisionNotFoundError as err:
        raise EncoderError(
            f"The {what} '{repo_id}' has no revision '{revision}' on the Hugging Face hub: "
            "set [components.transformer.model] revision to one of its branches, tags or commits."
        ) from err
    except RepositoryNotFoundError as err:
        raise EncoderError(
            f"The {what} '{repo_id}' (set by {setting}) is not a local directory and the "
            "Hugging Face hub has no public model of that id (check its spelling; a private "
            "model needs huggingface-cli login)."
        ) from err
    except (requests.exceptions.RequestException, LocalEntryNotFoundError, OSError) as err:
        raise EncoderError(
            f"The {what} '{repo_id}' is not a local directory and not in the Hugging Face "
            f"cache ({cache}), and the hub can't be reached ({type(err).__name__}). {ways_out}"
        ) from err


def _hub_snapshot(repo_id: str, revision: Optional[str], *, local_files_only: bool) -> str:
    return snapshot_download(
        repo_id,
        revision=revision,
        allow_patterns=HUB_FILES,
        local_files_only=local_files_only,
        etag_timeout=HUB_PROBE_TIMEOUT,
    )


def vocab_is_cased(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the vocabulary keeps capitals (special tokens such as [CLS] aside)."""
    specials = set(tokenizer.all_special_tokens)
    entries = [t for t in tokenizer.get_vocab() if t not in specials and not _is_placeholder(t)]
    capitalised = sum(1 for t in entries if any(c.isupper() for c in t))
    return bool(entries) and capitalised / len(entries) > CASED_VOCAB_SHARE


def tokenizer_lowercases(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the tokenizer lower-cases its input (observed, not read from its config)."""
    return "".join(tokenizer.tokenize("ABC")).lstrip("Ġ▁#").startswith("a")


def check_casing(tokenizer: PreTrainedTokenizerBase, where: str) -> None:
    """Raise if the tokenizer's casing contradicts its vocabulary."""
    cased = vocab_is_cased(tokenizer)
    lowercases = tokenizer_lowercases(tokenizer)
    if cased and lowercases:
        raise EncoderError(
            f"The tokenizer for {where} lower-cases its input, but its vocabulary is cased: "
            "a cased model (such as SpanBERT) would never see a capital letter. Set "
            '"do_lower_case": false in [components.transformer.model.tokenizer_config] or '
            "fix tokenizer_config.json."
        )
    if not cased and not lowercases:
        raise EncoderError(
            f"The tokenizer for {where} keeps capitals, but its vocabulary is lower-case: "
            "capitalised words would become unknown tokens. Set "
            '"do_lower_case": true in [components.transformer.model.tokenizer_config].'
        )


def _load_config(model_dir: Path, model_type: str, overrides: Dict[str, Any]):
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise EncoderError(
            f"No config.json in encoder directory '{model_dir}': a Hugging Face checkpoint "
            "directory needs config.json and its weights (pytorch_model.bin or model.safetensors)."
        )
    try:
        config_dict = json.loads(config_file.read_text(encoding="utf8"))
    except json.JSONDecodeError as err:
        raise EncoderError(f"{config_file} is not valid JSON: {err}") from err
    config_dict.setdefault("model_type", model_type)
    config_dict.update(overrides)
    config_dict["return_dict"] = True
    return AutoConfig.for_model(**config_dict)


def _vocab_file_contents(tokenizer: PreTrainedTokenizerBase) -> Optional[bytes]:
    """What spacy-transformers saves as the slow tokenizer's vocabulary file. It writes these
    bytes whenever the tokenizer has a ``vocab_file`` attribute; a SentencePiece tokenizer read
    from ``tokenizer.json`` alone has it set to None, and saves an empty file in its place
    (the fast tokenizer reads only ``tokenizer.json``)."""
    if not hasattr(tokenizer, "vocab_file"):
        return None
    vocab_file = tokenizer.vocab_file
    return Path(vocab_file).read_bytes() if vocab_file else b""


def _has_tokenizer(directory: Path) -> bool:
    return any((directory / name).is_file() for name in TOKENIZER_FILES)


def _load_tokenizer(tok_dir: Path, model_dir: Path, config, kwargs: Dict[str, Any]):
    if not _has_tokenizer(tok_dir):
        raise EncoderError(
            f"No tokenizer files in '{tok_dir}' (looked for {', '.join(TOKENIZER_FILES)}). "
            "SpanBERT checkpoints ship without them and use bert-base-cased's vocabulary: "
            'set tokenizer = "path/to/dir-with-vocab.txt" in [components.transformer.model].'
        )
    kwargs.setdefault("model_max_length", getattr(config, "max_position_embeddings", 512))
    explicit_casing = "do_lower_case" in kwargs or (tok_dir / "tokenizer_config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), config=config, **kwargs)
    if not explicit_casing and tokenizer_lowercases(tokenizer) and vocab_is_cased(tokenizer):
        # No tokenizer config: BERT tokenizers default to lower-casing. Follow the vocabulary.
        kwargs["do_lower_case"] = False
        tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), config=config, **kwargs)
    check_casing(tokenizer, f"'{model_dir}' (tokenizer from '{tok_dir}')")
    return tokenizer


def _is_placeholder(token: str) -> bool:
    return (token.startswith("[") and token.endswith("]")) or (
        token.startswith("<") and token.endswith(">")
    )
