"""A new encoder for text that has none: a WordPiece vocabulary trained on the text and a
randomly initialized BERT of a named size, saved as a Hugging Face checkpoint that
``pretrain`` then trains like any other.

Sizes follow Google's BERT miniatures (Turc et al. 2019): ``tiny`` 2 layers x 128,
``mini`` 4 x 256, ``small`` 4 x 512; any BERT ``config.json`` works too.
"""

import json
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from .train import PretrainingSettings, pretrain

SIZES: Dict[str, Dict[str, int]] = {
    "tiny": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2},
    "mini": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4},
    "small": {"num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8},
}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(
    texts: Iterable[str],
    directory: Union[str, Path],
    *,
    vocab_size: int = 16000,
    lowercase: bool = True,
    min_frequency: int = 2,
) -> BertTokenizerFast:
    """Train a BERT WordPiece tokenizer on ``texts`` and save it to ``directory``; it
    lower-cases (and strips accents) exactly when ``lowercase``, as its vocabulary does."""
    from tokenizers import BertWordPieceTokenizer

    wordpiece = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=lowercase)
    wordpiece.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(directory))
    tokenizer = BertTokenizerFast(
        vocab_file=str(directory / "vocab.txt"),
        do_lower_case=lowercase,
        strip_accents=lowercase,
    )
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def bert_config(size: Union[str, Path], vocab_size: int, max_length: int) -> BertConfig:
    """The BERT config of a named size (4 x hidden feed-forward), or read from a
    ``config.json``; its vocabulary and positions fit the tokenizer and ``max_length``."""
    if str(size) in SIZES:
        dims = SIZES[str(size)]
        settings: Dict[str, Any] = {**dims, "intermediate_size": 4 * dims["hidden_size"]}
    elif Path(size).is_file():
        settings = json.loads(Path(size).read_text(encoding="utf8"))
    else:
        raise ValueError(
            f"size {str(size)!r}: expected one of {', '.join(SIZES)} or a BERT config.json"
        )
    settings.update(vocab_size=vocab_size)
    settings.setdefault("max_position_embeddings", max_length)
    return BertConfig(**{k: v for k, v in settings.items() if k != "architectures"})


def build_from_scratch(
    texts: Iterable[str],
    directory: Union[str, Path],
    size: Union[str, Path] = "mini",
    *,
    vocab_size: int = 16000,
    lowercase: bool = True,
    max_length: int = 512,
    seed: int = 0,
) -> Path:
    """A tokenizer trained on ``texts`` and a randomly initialized BERT (with its masked-LM
    head) in ``directory``: a checkpoint ``pretrain`` takes as its base."""
    directory = Path(directory)
    tokenizer = train_tokenizer(texts, directory, vocab_size=vocab_size, lowercase=lowercase)
    torch.manual_seed(seed)
    model = BertForMaskedLM(bert_config(size, len(tokenizer), max_length))
    model.save_pretrained(str(directory), safe_serialization=False)
    return directory


def pretrain_from_scratch(
    size: Union[str, Path],
    texts: Iterable[str],
    output: Union[str, Path],
    *,
    vocab_size: int = 16000,
    lowercase: bool = True,
    settings: Optional[PretrainingSettings] = None,
    resume: bool = False,
) -> Dict[str, Any]:
    """Build a tokenizer and a BERT of ``size`` from ``texts`` into ``output/initial``, then
    pretrain it on the same texts into ``output`` (see :func:`pretrain`). Under torchrun only
    the main process builds; with ``resume`` the saved tokenizer and initial weights are
    reused."""
    from accelerate import PartialState

    texts = list(texts)
    settings = settings or PretrainingSettings()
    initial = Path(output) / "initial"
    state = PartialState()
    with state.main_process_first():
        if state.is_main_process and not (resume and (initial / "config.json").is_file()):
            build_from_scratch(
                texts,
                initial,
                size,
                vocab_size=vocab_size,
                lowercase=lowercase,
                max_length=max(settings.max_length, 512),
                seed=settings.seed,
            )
    summary = pretrain(initial, texts, output, settings=settings, resume=resume)
    config = BertConfig.from_pretrained(str(initial))
    summary.update(
        parameters=sum(p.numel() for p in BertForMaskedLM(config).bert.parameters()),
        vocab_size=config.vocab_size,
    )
    return summary
