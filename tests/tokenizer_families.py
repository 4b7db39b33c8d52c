"""Tiny checkpoints of every tokenizer family, written locally as each family is saved on the
hub: with a ``tokenizer.json`` only, with the slow tokenizer's files only, or with both."""

import json
from pathlib import Path
from typing import Callable, Dict

from .util import WORDS

FAMILIES = ("bert-cased", "bert-uncased", "roberta", "xlm-roberta", "deberta-v3", "electra")
LAYOUTS = ("fast", "slow", "both")  # tokenizer.json only, slow files only, both
SLOW_FILES = ("vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spm.model")
TEXT = " ".join(WORDS) + " " + " ".join(w.lower() for w in WORDS) + " 0 1 2 3 4 5 6 7 8 9"


def write_family(directory: Path, family: str, layout: str) -> Path:
    """A 2-layer, 32-wide encoder of ``family`` with its tokenizer saved in ``layout``."""
    import torch
    import transformers

    tokenizer, model_cls, config_cls = BUILDERS[family](directory / "_build")
    size = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    extra = {"max_position_embeddings": 514, "pad_token_id": tokenizer.pad_token_id}
    if family == "deberta-v3":
        extra.update(
            relative_attention=True, position_biased_input=False, max_relative_positions=-1
        )
    n_vocab = max(len(tokenizer), max(tokenizer.get_vocab().values()) + 1)
    config = getattr(transformers, config_cls)(vocab_size=n_vocab, **size, **extra)
    torch.manual_seed(0)
    getattr(transformers, model_cls)(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    if layout == "fast":
        for name in SLOW_FILES:
            (directory / name).unlink(missing_ok=True)
    elif layout == "slow":
        (directory / "tokenizer.json").unlink()
    return directory


def _wordpiece(directory: Path, lowercase: bool, cls: str):
    import transformers
    from tokenizers import BertWordPieceTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "text.txt").write_text(TEXT)
    trainer = BertWordPieceTokenizer(lowercase=lowercase)
    trainer.train([str(directory / "text.txt")], vocab_size=300, min_frequency=1)
    trainer.save_model(str(directory))
    return getattr(transformers, cls)(
        vocab_file=str(directory / "vocab.txt"), do_lower_case=lowercase
    )


def _byte_level_bpe(directory: Path):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "text.txt").write_text(TEXT)
    trainer = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer.train([str(directory / "text.txt")], vocab_size=400, special_tokens=specials)
    trainer.save_model(str(directory))
    return RobertaTokenizerFast(
        vocab_file=str(directory / "vocab.json"), merges_file=str(directory / "merges.txt")
    )


def _sentencepiece(directory: Path, cls: str):
    import sentencepiece
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(WORDS[i : i + 6]) for i in range(0, len(WORDS), 3)]
    (directory / "text.txt").write_text("\n".join(lines * 4))
    sentencepiece.SentencePieceTrainer.train(
        input=str(directory / "text.txt"),
        model_prefix=str(directory / "spm"),
        vocab_size=50,
        hard_vocab_limit=False,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        minloglevel=2,
    )
    return getattr(transformers, cls)(vocab_file=str(directory / "spm.model"))


BUILDERS: Dict[str, Callable] = {
    "bert-cased": lambda d: (_wordpiece(d, False, "BertTokenizerFast"), "BertModel", "BertConfig"),
    "bert-uncased": lambda d: (_wordpiece(d, True, "BertTokenizerFast"), "BertModel", "BertConfig"),
    "electra": lambda d: (
        _wordpiece(d, True, "ElectraTokenizerFast"),
        "ElectraModel",
        "ElectraConfig",
    ),
    "roberta": lambda d: (_byte_level_bpe(d), "RobertaModel", "RobertaConfig"),
    "xlm-roberta": lambda d: (
        _sentencepiece(d, "XLMRobertaTokenizerFast"),
        "XLMRobertaModel",
        "XLMRobertaConfig",
    ),
    "deberta-v3": lambda d: (
        _sentencepiece(d, "DebertaV2TokenizerFast"),
        "DebertaV2Model",
        "DebertaV2Config",
    ),
}


def saved_files(directory: Path) -> list:
    return sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != "config.json")


def model_type(directory: Path) -> str:
    return json.loads((directory / "config.json").read_text())["model_type"]
