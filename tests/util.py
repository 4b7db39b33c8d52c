"""Test helpers: tiny BERT checkpoints written locally (no hub), and pipelines on them."""

import json
from pathlib import Path
from typing import Iterable, Optional

import spacy
from spacy.language import Language

WORDS = (
    "I like London and Berlin . Anna Smith works for Acme Corp in Paris today . "
    "The University of Oslo hired Bob . New York is big"
).split()


def write_vocab(path: Path, words: Iterable[str], cased: bool) -> Path:
    """A BERT vocab.txt: specials, whole words, single characters and ## continuations."""
    chars = sorted({c for w in words for c in w} | set("abcdefghijklmnopqrstuvwxyz0123456789"))
    entries = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = sorted({w if cased else w.lower() for w in words})
    pieces += [c if cased else c.lower() for c in chars]
    pieces += ["##" + (c if cased else c.lower()) for c in chars]
    for piece in pieces:
        if piece not in entries:
            entries.append(piece)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(entries) + "\n", encoding="utf8")
    return path


def write_tiny_bert(
    directory: Path,
    *,
    cased: bool = True,
    spanbert_layout: bool = False,
    tokenizer_dir: Optional[Path] = None,
    extra_words: Iterable[str] = (),
) -> Path:
    """Write a 2-layer, 32-wide BERT checkpoint.

    spanbert_layout: like SpanBERT's release: fp16 pytorch_model.bin, config.json without
    model_type, no tokenizer files (the vocab goes to ``tokenizer_dir``).
    extra_words: vocabulary entries besides the test sentences' words.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab_path = write_vocab(
        (tokenizer_dir or directory) / "vocab.txt", [*WORDS, *extra_words], cased
    )
    n_vocab = len(vocab_path.read_text(encoding="utf8").split("\n")) - 1
    config = BertConfig(
        vocab_size=n_vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)  # the same weights whichever test writes the checkpoint first
    model = BertModel(config)
    if spanbert_layout:
        model.half().save_pretrained(str(directory), safe_serialization=False)
        config_file = directory / "config.json"
        config_dict = json.loads(config_file.read_text())
        config_dict.pop("model_type")
        config_file.write_text(json.dumps(config_dict))
    else:
        model.save_pretrained(str(directory))
        BertTokenizerFast(vocab_file=str(vocab_path), do_lower_case=not cased).save_pretrained(
            str(directory)
        )
    return directory


def transformer_config(name: Path, tokenizer: Optional[Path] = None, **tokenizer_config) -> dict:
    model = {
        "@architectures": "spacy_spanbert.TransformerModel.v1",
        "name": str(name),
        "tokenizer": str(tokenizer) if tokenizer else None,
        "tokenizer_config": tokenizer_config,
        "get_spans": {
            "@span_getters": "spacy-transformers.strided_spans.v1",
            "window": 32,
            "stride": 24,
        },
    }
    return {"model": model}


def make_nlp(encoder: Path, tokenizer: Optional[Path] = None, **ner_config) -> Language:
    """A blank English pipeline: transformer (local tiny encoder) + spanbert_ner."""
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(encoder, tokenizer))
    nlp.add_pipe("spanbert_ner", config=ner_config)
    return nlp
