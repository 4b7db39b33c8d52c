"""Loading local Hugging Face BERT checkpoints, including SpanBERT's released layout.

SpanBERT/spanbert-base-cased ships ``config.json`` (sometimes without ``model_type``) and
weights, but no tokenizer files: it uses bert-base-cased's vocabulary. Loading such a
directory naively either fails with a misleading error or, worse, silently builds a
lower-casing tokenizer for a cased model. :func:`load_local_encoder` takes a separate
tokenizer directory, decides casing from the vocabulary itself, and refuses a tokenizer
whose casing contradicts its vocabulary.
"""

import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch
from spacy_transformers.data_classes import HFObjects
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
)
# Share of ordinary vocabulary entries with a capital letter above which a vocabulary is cased.
CASED_VOCAB_SHARE = 0.01


class EncoderError(ValueError):
    """A local encoder directory can't be loaded as it is; the message says what to add."""


def load_local_encoder(
    path: Optional[Union[str, Path]],
    *,
    tokenizer_path: Optional[Union[str, Path]] = None,
    tokenizer_config: Optional[Dict[str, Any]] = None,
    transformer_config: Optional[Dict[str, Any]] = None,
    model_type: str = "bert",
    model_cls: Any = AutoModel,
) -> HFObjects:
    """Load tokenizer and model from local directories, with no hub access.

    path: the checkpoint directory (config.json + weights).
    tokenizer_path: a directory with the tokenizer files, when ``path`` has none
        (SpanBERT's layout: point it at bert-base-cased, or any dir with its vocab.txt).
    tokenizer_config: keyword arguments for ``AutoTokenizer.from_pretrained``. Without
        ``do_lower_case`` and without a ``tokenizer_config.json``, casing follows the vocabulary.
    transformer_config: keyword arguments for the model config (e.g. dropout).
    model_type: used only when config.json has no ``model_type`` (SpanBERT's does not).
    model_cls: the transformers Auto class to load (AutoModelForMaskedLM for pretraining).
    """
    model_dir = _existing_dir(path, "encoder checkpoint", "[components.transformer.model] name")
    config = _load_config(model_dir, model_type, transformer_config or {})
    tok_dir = model_dir
    if tokenizer_path is not None:
        tok_dir = _existing_dir(
            tokenizer_path, "tokenizer", "[components.transformer.model] tokenizer"
        )
    tokenizer = _load_tokenizer(tok_dir, model_dir, config, dict(tokenizer_config or {}))
    transformer = model_cls.from_pretrained(
        str(model_dir), config=config, torch_dtype=torch.float32
    )
    vocab_file = getattr(tokenizer, "vocab_file", None)
    vocab_file_contents = Path(vocab_file).read_bytes() if vocab_file else None
    return HFObjects(tokenizer, transformer, vocab_file_contents)


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


def _existing_dir(path: Optional[Union[str, Path]], what: str, setting: str) -> Path:
    if path is None:
        raise EncoderError(f"No {what} directory given: set {setting} (e.g. --paths.encoder DIR).")
    directory = Path(path)
    if not directory.is_dir():
        raise EncoderError(
            f"The {what} directory '{path}' does not exist (set by {setting}). "
            "Give a local Hugging Face directory; models are never downloaded."
        )
    return directory


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


def _load_tokenizer(tok_dir: Path, model_dir: Path, config, kwargs: Dict[str, Any]):
    if not any((tok_dir / name).is_file() for name in TOKENIZER_FILES):
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
