"""SpanBERT pretraining: masking statistics, SBO targets, heads, loss, checkpoint in spaCy."""

import json
import random
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
import torch
from transformers import AutoModelForMaskedLM, BertTokenizerFast

from spacy_spanbert.pretraining import (
    PretrainingSettings,
    SpanBertForPreTraining,
    SpanMaskingCollator,
    TokenBlocks,
    TokenMaskingCollator,
    build_from_scratch,
    pretrain,
    pretrain_from_scratch,
    sbo_targets,
    train_tokenizer,
)
from spacy_spanbert.pretraining.masking import _runs
from spacy_spanbert.pretraining.train import words_tokenizer

from .util import WORDS, transformer_config


def random_texts(n_words: int, seed: int = 0) -> List[str]:
    """Known words and made-up words (which split into several wordpieces)."""
    rng = random.Random(seed)
    words = [
        rng.choice(WORDS)
        if rng.random() < 0.6
        else "".join(rng.choices("abcdefgh", k=rng.randint(2, 6)))
        for _ in range(n_words)
    ]
    return [" ".join(words[i : i + 40]) for i in range(0, n_words, 40)]


@pytest.fixture(scope="module")
def tokenizer(tiny_bert: Path) -> BertTokenizerFast:
    return BertTokenizerFast.from_pretrained(str(tiny_bert))


@pytest.fixture(scope="module")
def masked_blocks(tokenizer: BertTokenizerFast):
    blocks = TokenBlocks(random_texts(60000), tokenizer, max_length=512)
    collator = SpanMaskingCollator(tokenizer, seed=0)
    results = [
        (block, *collator.mask(numpy.array(block["input_ids"]), block["word_ids"]))
        for block in blocks
    ]
    return blocks, results


def test_masked_share_span_length_and_80_10_10(tokenizer, masked_blocks) -> None:
    blocks, results = masked_blocks
    n_tokens = sum(len(b["input_ids"]) - 2 for b in blocks)
    assert n_tokens > 100_000
    n_masked = sum(int((labels != -100).sum()) for _, _, labels, _ in results)
    assert n_masked / n_tokens == pytest.approx(0.15, abs=0.005)
    span_words, kinds = [], {"mask": 0, "random": 0, "same": 0}
    for block, masked, _, spans in results:
        ids = numpy.array(block["input_ids"])
        for start, last in spans:
            span_words.append(len({block["word_ids"][i] for i in range(start, last + 1)}))
            if (masked[start : last + 1] == tokenizer.mask_token_id).all():
                kinds["mask"] += 1
            elif (masked[start : last + 1] == ids[start : last + 1]).all():
                kinds["same"] += 1
            else:
                kinds["random"] += 1
    n_spans = len(span_words)
    # geometric(0.2) clipped at 10 has mean 3.8 words; merging touching spans adds a little
    assert 3.4 <= numpy.mean(span_words) <= 4.6
    assert kinds["mask"] / n_spans == pytest.approx(0.8, abs=0.03)
    assert kinds["random"] / n_spans == pytest.approx(0.1, abs=0.03)
    assert kinds["same"] / n_spans == pytest.approx(0.1, abs=0.03)


def test_spans_never_split_words_nor_touch_special_tokens(masked_blocks) -> None:
    _, results = masked_blocks
    for block, masked, labels, spans in results:
        word_ids = block["word_ids"]
        assert labels[0] == -100 and labels[-1] == -100
        assert masked[0] == block["input_ids"][0] and masked[-1] == block["input_ids"][-1]
        for start, last in spans:
            assert word_ids[start] is not None and word_ids[last] is not None
            assert word_ids[start - 1] != word_ids[start]
            assert last + 1 == len(word_ids) or word_ids[last + 1] != word_ids[last]


def test_padding_is_never_masked(tokenizer) -> None:
    collator = SpanMaskingCollator(tokenizer, seed=1)
    short = {"input_ids": [2, 10, 11, 3], "word_ids": [None, 0, 1, None]}
    long = {"input_ids": [2] + [10] * 30 + [3], "word_ids": [None, *range(30), None]}
    batch = collator([short, long])
    assert (batch["labels"][0, 4:] == -100).all()
    assert (batch["input_ids"][0, 4:] == tokenizer.pad_token_id).all()
    assert (batch["attention_mask"][0] == torch.tensor([1] * 4 + [0] * 28)).all()


def test_sbo_targets_by_hand() -> None:
    # [CLS] a b c d e f [SEP]: spans (2,3) and (6,6) and (1,1)
    left, right, position = sbo_targets([(2, 3), (6, 6), (1, 1)], length=8, max_targets=15)
    assert left.tolist() == [-1, -1, 1, 1, -1, -1, -1, -1]
    assert right.tolist() == [-1, -1, 4, 4, -1, -1, -1, -1]
    assert position.tolist() == [-1, -1, 0, 1, -1, -1, -1, -1]
    # (1,1) touches [CLS] and (6,6) touches [SEP]: SBO skipped; at most max_targets per span
    left, _, position = sbo_targets([(2, 20)], length=30, max_targets=15)
    assert position.tolist()[2:17] == list(range(15)) and position[17] == -1 and left[2] == 1


def test_runs_merge_overlapping_and_touching() -> None:
    assert _runs(numpy.array([0, 1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)) == [(1, 2), (4, 6), (8, 8)]


def test_heads_initialise_when_absent_and_load_when_present(
    tiny_bert: Path, tmp_path: Path
) -> None:
    model = SpanBertForPreTraining(AutoModelForMaskedLM.from_pretrained(str(tiny_bert)))
    mlm = model.masked_lm
    assert (
        mlm.get_output_embeddings().weight.data_ptr()
        == mlm.get_input_embeddings().weight.data_ptr()
    )
    assert not model.load_sbo_head(tiny_bert)
    with torch.no_grad():
        model.sbo.bias.fill_(0.25)
        mlm.cls.predictions.bias.fill_(0.5)
    model.save_pretrained(tmp_path)
    reloaded = SpanBertForPreTraining(AutoModelForMaskedLM.from_pretrained(str(tmp_path)))
    assert reloaded.load_sbo_head(tmp_path)
    assert torch.allclose(reloaded.sbo.bias, torch.tensor(0.25))
    assert torch.allclose(reloaded.masked_lm.cls.predictions.bias, torch.tensor(0.5))


def test_pretraining_loss_falls_and_checkpoint_loads_in_spacy(
    tiny_spanbert: Path, tmp_path: Path
) -> None:
    settings = PretrainingSettings(
        max_steps=40,
        batch_size=8,
        max_length=64,
        learning_rate=3e-3,
        warmup_ratio=0.0,
        logging_steps=5,
        save_steps=1000,
    )
    texts = random_texts(2000, seed=3) * 2
    summary = pretrain(
        tiny_spanbert / "model",
        texts,
        tmp_path / "out",
        tokenizer_path=tiny_spanbert / "tokenizer",
        settings=settings,
    )
    assert summary["last_logged_loss"] < summary["first_logged_loss"] * 0.8
    assert not summary["mlm_head_loaded"] and not summary["sbo_head_loaded"]
    assert (tmp_path / "out" / "loss_log.jsonl").is_file()
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(tmp_path / "out"))
    nlp.initialize()
    # cased SpanBERT-layout vocabulary stays cased through pretraining
    assert nlp.get_pipe("transformer").model.tokenizer.tokenize("Paris") == ["Paris"]
    assert nlp("Anna Smith works in Paris .")._.trf_data is not None


@pytest.mark.parametrize("family", ["bert-cased", "roberta", "xlm-roberta"])
def test_mlm_and_sbo_at_labelled_positions_equal_the_dense_losses(
    tmp_path: Path, family: str
) -> None:
    from transformers import AutoTokenizer

    from .tokenizer_families import write_family

    directory = write_family(tmp_path, family, "both")
    tokenizer = words_tokenizer(AutoTokenizer.from_pretrained(str(directory)))
    masked_lm = AutoModelForMaskedLM.from_pretrained(str(directory))
    model = SpanBertForPreTraining(masked_lm).eval()
    blocks = TokenBlocks(random_texts(400, seed=1), tokenizer, max_length=48)
    batch = SpanMaskingCollator(tokenizer, seed=0)([blocks[i] for i in range(4)])
    with torch.no_grad():
        sparse = model(**batch)
        dense = masked_lm(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            output_hidden_states=True,
        )
        hidden = dense.hidden_states[-1]
        sbo_logits = model.sbo(hidden, batch["sbo_left"], batch["sbo_right"], batch["sbo_position"])
        sbo_dense = torch.nn.functional.cross_entropy(
            sbo_logits, batch["labels"][batch["sbo_position"] >= 0]
        )
    assert float(sparse["mlm_loss"]) == pytest.approx(float(dense.loss), rel=1e-5)
    assert float(sparse["sbo_loss"]) == pytest.approx(float(sbo_dense), rel=1e-5)


def test_a_family_without_one_mlm_head_is_refused(tmp_path: Path) -> None:
    from .tokenizer_families import write_family

    directory = write_family(tmp_path, "electra", "both")
    with pytest.raises(ValueError, match="has neither"):
        SpanBertForPreTraining(AutoModelForMaskedLM.from_pretrained(str(directory)))


def test_mlm_objective_masks_single_words_without_sbo(tiny_bert: Path, tmp_path: Path) -> None:
    settings = PretrainingSettings(
        max_steps=2, batch_size=4, max_length=32, logging_steps=1, objective="mlm"
    )
    summary = pretrain(tiny_bert, random_texts(400), tmp_path / "out", settings=settings)
    assert summary["tokens_per_second"] > 0
    collator = SpanMaskingCollator(
        BertTokenizerFast.from_pretrained(str(tiny_bert)), seed=0, max_span_words=1
    )
    block = TokenBlocks(random_texts(400), collator.tokenizer, max_length=64)[0]
    _, labels, spans = collator.mask(numpy.array(block["input_ids"]), block["word_ids"])
    word_ids = block["word_ids"]
    # every masked stretch is whole words, and the masked words are single draws
    assert (labels != -100).sum() > 0
    for first, last in spans:
        assert word_ids[first - 1] != word_ids[first] and word_ids[last] != word_ids[last + 1]
    with pytest.raises(ValueError, match="objective 'sbo'"):
        pretrain(
            tiny_bert, ["a b c"], tmp_path / "x", settings=PretrainingSettings(objective="sbo")
        )


def test_head_warmup_trains_only_the_heads_first(tiny_bert: Path, tmp_path: Path) -> None:
    def weights(directory: Path) -> dict:
        model = AutoModelForMaskedLM.from_pretrained(str(directory))
        return {name: value.clone() for name, value in model.state_dict().items()}

    base = weights(tiny_bert)
    encoder_key = "bert.encoder.layer.0.attention.self.query.weight"
    for warmup, encoder_moved in ((2, False), (1, True)):
        settings = PretrainingSettings(
            max_steps=2, batch_size=4, max_length=32, head_warmup_steps=warmup, logging_steps=1
        )
        out = tmp_path / f"warmup-{warmup}"
        pretrain(tiny_bert, random_texts(400), out, settings=settings)
        trained = weights(out)
        assert torch.equal(trained[encoder_key], base[encoder_key]) != encoder_moved
        assert trained["cls.predictions.bias"].abs().sum() > 0  # the fresh head trained (from 0)


def test_token_objective_draws_single_wordpieces_each_80_10_10(tokenizer) -> None:
    blocks = TokenBlocks(random_texts(60000, seed=5), tokenizer, max_length=512)
    collator = TokenMaskingCollator(tokenizer, seed=0)
    n_tokens = n_masked = 0
    kinds = {"mask": 0, "random": 0, "same": 0}
    adjacent_mixed = 0
    for block in blocks:
        ids = numpy.array(block["input_ids"])
        masked, labels, spans = collator.mask(ids, block["word_ids"])
        assert spans == []  # no SBO targets
        assert labels[0] == labels[-1] == -100
        chosen = numpy.flatnonzero(labels != -100)
        n_tokens += len(ids) - 2
        n_masked += len(chosen)
        kind = numpy.where(
            masked[chosen] == tokenizer.mask_token_id,
            0,
            numpy.where(masked[chosen] == ids[chosen], 2, 1),
        )
        for k, name in enumerate(kinds):
            kinds[name] += int((kind == k).sum())
        adjacent = numpy.flatnonzero(numpy.diff(chosen) == 1)
        adjacent_mixed += int((kind[adjacent] != kind[adjacent + 1]).sum())
    assert n_masked / n_tokens == pytest.approx(0.15, abs=0.005)
    assert kinds["mask"] / n_masked == pytest.approx(0.8, abs=0.02)
    assert kinds["random"] / n_masked == pytest.approx(0.1, abs=0.02)
    assert kinds["same"] / n_masked == pytest.approx(0.1, abs=0.02)
    assert adjacent_mixed > 0  # neighbours get draws of their own, unlike a span


@pytest.mark.parametrize("lowercase", [True, False])
def test_trained_tokenizer_casing_agrees_with_its_vocabulary(tmp_path: Path, lowercase) -> None:
    texts = random_texts(3000) + ["Paris London Berlin Anna Smith"] * 50
    tokenizer = train_tokenizer(texts, tmp_path / "tok", vocab_size=300, lowercase=lowercase)
    assert len(tokenizer) <= 300
    assert ("Paris" in tokenizer.get_vocab()) is not lowercase
    assert tokenizer.tokenize("Paris")[0].startswith("p" if lowercase else "P")


def test_from_scratch_logs_each_objective_and_loads_in_spacy(tmp_path: Path) -> None:
    texts = random_texts(4000, seed=7)
    settings = PretrainingSettings(
        max_steps=30, batch_size=8, max_length=64, learning_rate=3e-3, logging_steps=10
    )
    summary = pretrain_from_scratch(
        "tiny", texts, tmp_path / "out", vocab_size=400, settings=settings
    )
    assert summary["vocab_size"] <= 400 and summary["parameters"] > 0
    log = [json.loads(line) for line in (tmp_path / "out" / "loss_log.jsonl").open()]
    logged = [entry for entry in log if "loss" in entry]
    assert {"mlm_loss", "sbo_loss", "mlm_accuracy", "sbo_accuracy"} <= set(logged[-1])
    assert logged[-1]["mlm_loss"] < logged[0]["mlm_loss"]
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(tmp_path / "out"))
    nlp.initialize()
    assert nlp("Anna Smith works in Paris .")._.trf_data is not None
    # --resume keeps the tokenizer and the initial weights it built
    vocab = (tmp_path / "out" / "initial" / "vocab.txt").read_bytes()
    settings.max_steps = 40
    resumed = pretrain_from_scratch(
        "tiny", texts[::-1], tmp_path / "out", vocab_size=200, settings=settings, resume=True
    )
    assert (tmp_path / "out" / "initial" / "vocab.txt").read_bytes() == vocab
    # the mean loss of the 10 steps this call trained (not their sum over all 40 steps)
    assert resumed["train_loss"] > 0.5 * logged[-1]["loss"]


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size 'huge': expected one of tiny, mini, small"):
        build_from_scratch(["a b c"] * 10, tmp_path / "x", "huge", vocab_size=50)


def test_sbo_learns_spans_from_their_boundaries(tmp_path: Path) -> None:
    """Text where a span's words follow from the words around it: SBO's accuracy must end
    far above always guessing the most frequent wordpiece (the chance level here)."""
    rng = random.Random(0)
    phrases = {f"open{i}": (f"w{i}a w{i}b w{i}c w{i}d", f"close{i}") for i in range(20)}
    texts = []
    for _ in range(400):
        parts = []
        for _ in range(6):
            left = rng.choice(sorted(phrases))
            inside, right = phrases[left]
            parts.append(f"{left} {inside} {right}")
        texts.append(" ".join(parts))
    settings = PretrainingSettings(
        max_steps=120, batch_size=16, max_length=64, learning_rate=2e-3, logging_steps=20
    )
    pretrain_from_scratch("tiny", texts, tmp_path / "out", vocab_size=200, settings=settings)
    log = [json.loads(line) for line in (tmp_path / "out" / "loss_log.jsonl").open()]
    last = [entry for entry in log if "sbo_accuracy" in entry][-1]
    tokenizer = BertTokenizerFast.from_pretrained(str(tmp_path / "out" / "initial"))
    pieces = [i for text in texts for i in tokenizer(text, add_special_tokens=False)["input_ids"]]
    majority = max(pieces.count(i) for i in set(pieces)) / len(pieces)
    assert last["sbo_accuracy"] > 2 * majority
