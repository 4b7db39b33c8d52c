"""The sentence-level head (spanbert_textcat: spaCy's textcat_multilabel) trained jointly with
spanbert_ner on one shared encoder, each head's gradient into the encoder weighted by its
listener's grad_factor."""

from pathlib import Path
from typing import List, Optional, Sequence

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.training import Example
from spacy.util import fix_random_seed

from .util import transformer_config

# intent + slots; the last utterance has no slots
DATA = [
    ("play jazz by Anna Smith", "PlayMusic", [(5, 9, "genre"), (13, 23, "artist")]),
    ("book a table in Paris", "BookRestaurant", [(16, 21, "city")]),
    ("what is the weather", "GetWeather", []),
]
INTENTS = sorted({intent for _, intent, _ in DATA})


def listener(grad_factor: float) -> dict:
    return {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "grad_factor": grad_factor,
        "pooling": {"@layers": "reduce_mean.v1"},
    }


POOLING = {
    "first+mean": {
        "@architectures": "spacy.TextCatReduce.v1",
        "exclusive_classes": False,
        "use_reduce_first": True,
        "use_reduce_last": False,
        "use_reduce_max": False,
        "use_reduce_mean": True,
    },
    "attention": {
        "@architectures": "spacy.TextCatParametricAttention.v1",
        "exclusive_classes": True,
    },
}


def make_joint_nlp(
    encoder: Path,
    spans_weight: Optional[float] = 1.0,
    sentence_weight: Optional[float] = 1.0,
    pooling: str = "first+mean",
) -> Language:
    """transformer + spanbert_ner and/or spanbert_textcat (None leaves that head out)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(encoder))
    if spans_weight is not None:
        nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": listener(spans_weight)}})
    if sentence_weight is not None:
        textcat_model = {**POOLING[pooling], "tok2vec": listener(sentence_weight)}
        nlp.add_pipe("spanbert_textcat", config={"model": textcat_model, "scorer": JOINT_SCORER})
    return nlp


JOINT_SCORER = {"@scorers": "spacy_spanbert.sentence_and_spans_scorer.v1", "spans_key": "sc"}


def examples_for(nlp: Language) -> List[Example]:
    examples = []
    for text, intent, slots in DATA:
        doc = nlp.make_doc(text)
        gold = doc.copy()
        gold.spans["sc"] = [gold.char_span(s, e, label=label) for s, e, label in slots]
        gold.ents = list(gold.spans["sc"])
        gold.cats = {label: float(label == intent) for label in INTENTS}
        examples.append(Example(doc, gold))
    return examples


def train(
    nlp: Language,
    n_iter: int,
    same_heads_as: Optional[Language] = None,
    annotates: Sequence[str] = (),
) -> List[Example]:
    """Initialize and update; ``same_heads_as`` copies its heads' initial weights first;
    ``annotates``: components whose predictions are set during training."""
    fix_random_seed(0)
    examples = examples_for(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    if same_heads_as is not None:
        for name in nlp.pipe_names[1:]:
            nlp.get_pipe(name).from_bytes(same_heads_as.get_pipe(name).to_bytes())
    fix_random_seed(0)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer, drop=0.0, annotates=list(annotates))
    return examples


@pytest.mark.parametrize("pooling", sorted(POOLING))
def test_overfitting_IO_cats_and_spans(tiny_bert: Path, tmp_path: Path, pooling: str) -> None:
    nlp = make_joint_nlp(tiny_bert, pooling=pooling)
    examples = train(nlp, 120)
    for text, intent, slots in DATA:
        doc = nlp(text)
        assert max(doc.cats, key=lambda label: doc.cats[label]) == intent
        assert sorted((s.start_char, s.end_char, s.label_) for s in doc.spans["sc"]) == sorted(
            slots
        )
    scores = nlp.evaluate(examples)
    assert scores["sentence_acc"] == 1.0 and scores["intent_acc"] == 1.0
    assert scores["spans_sc_f"] == 1.0
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    for text, _, _ in DATA:
        doc, doc2 = nlp(text), reloaded(text)
        assert doc2.cats == pytest.approx(doc.cats, abs=1e-5)
        spans = [(s.start, s.end, s.label_) for s in doc.spans["sc"]]
        assert [(s.start, s.end, s.label_) for s in doc2.spans["sc"]] == spans
    assert reloaded.evaluate(examples)["sentence_acc"] == 1.0
    assert reloaded.get_pipe("spanbert_textcat").cfg["learn_rate_scale"] == 10.0


def encoder_weights(nlp: Language) -> List[torch.Tensor]:
    return [p.detach().clone() for p in nlp.get_pipe("transformer").model.transformer.parameters()]


@pytest.mark.parametrize(
    "weights,alone",
    [((1.0, 0.0), (1.0, None)), ((0.0, 1.0), (None, 1.0))],
    ids=["sentence-weight-0", "spans-weight-0"],
)
def test_weight_zero_reduces_to_training_the_other_head_alone(
    tiny_bert: Path, weights: tuple, alone: tuple
) -> None:
    joint = make_joint_nlp(tiny_bert, *weights)
    single = make_joint_nlp(tiny_bert, *alone)
    joint_initial = make_joint_nlp(tiny_bert, *weights)
    train(joint_initial, 0)
    train(joint, 5, same_heads_as=joint_initial)
    train(single, 5, same_heads_as=joint_initial)
    for p, q in zip(encoder_weights(joint), encoder_weights(single)):
        # bitwise on CPU; GPU kernels (atomic adds) are not deterministic from run to run
        assert torch.equal(p, q) if p.device.type == "cpu" else torch.allclose(p, q, atol=1e-6)


def test_both_weights_train_the_encoder_differently(tiny_bert: Path) -> None:
    joint = make_joint_nlp(tiny_bert, 1.0, 1.0)
    spans_only = make_joint_nlp(tiny_bert, 1.0, None)
    joint_initial = make_joint_nlp(tiny_bert, 1.0, 1.0)
    train(joint_initial, 0)
    train(joint, 5, same_heads_as=joint_initial)
    train(spans_only, 5, same_heads_as=joint_initial)
    assert any(
        not torch.equal(p, q) for p, q in zip(encoder_weights(joint), encoder_weights(spans_only))
    )


@pytest.mark.parametrize("pooling", sorted(POOLING))
def test_sentence_gradient_is_cross_entropy_as_a_mean_over_docs(
    tiny_bert: Path, pooling: str
) -> None:
    """spaCy's textcat sums over docs; spanbert_textcat averages, like the span heads. Its
    gradient at the logits is scores - truths (cross-entropy) for the softmax (attention
    model here, exclusive) and for the sigmoids (first+mean, multi-label), where spaCy's
    Logistic layer multiplies what get_loss returns by Y(1 - Y) on the way back."""
    nlp = make_joint_nlp(tiny_bert, spans_weight=None, pooling=pooling)
    examples = train(nlp, 0)
    textcat = nlp.get_pipe("spanbert_textcat")
    scores = textcat.model.ops.asarray2f(
        numpy.linspace(0.05, 0.95, len(examples) * len(INTENTS), dtype="f").reshape(
            (len(examples), -1)
        )
    )
    loss, d_mean = textcat.get_loss(examples, scores)
    _, d_sum = MultiLabel_TextCategorizer.get_loss(textcat, examples, scores)  # scores - truths
    to_numpy = textcat.model.ops.to_numpy
    scores, d_mean, d_sum = to_numpy(scores), to_numpy(d_mean), to_numpy(d_sum)
    truths = numpy.array(
        [[eg.reference.cats[label] for label in textcat.labels] for eg in examples]
    )
    numpy.testing.assert_allclose(d_sum, scores - truths, rtol=1e-6)
    if POOLING[pooling]["exclusive_classes"]:
        numpy.testing.assert_allclose(d_mean * len(examples), d_sum, rtol=1e-6)
    else:
        at_logits = d_mean * scores * (1 - scores)
        numpy.testing.assert_allclose(at_logits * len(examples), d_sum, rtol=1e-5)
        bce = -(truths * numpy.log(scores) + (1 - truths) * numpy.log(1 - scores)).sum()
        assert loss == pytest.approx(bce / len(examples), rel=1e-5)


def encoder_gradient_norm(nlp: Language, examples: List[Example]) -> float:
    """The norm of the gradient one update (no optimizer step) sends into the encoder."""
    module = nlp.get_pipe("transformer").model.transformer
    module.zero_grad()
    nlp.update(examples, sgd=False, drop=0.0)
    return float(sum((p.grad**2).sum() for p in module.parameters() if p.grad is not None)) ** 0.5


@pytest.mark.parametrize("pooling", sorted(POOLING))
def test_sentence_head_sends_no_gradient_before_it_has_learned(
    tiny_bert: Path, pooling: str
) -> None:
    """The output layer starts at zero, so the sentence head's first gradient into the shared
    encoder is zero (spaCy's sigmoid output layer starts random and would send one); once
    the head has trained, it sends one."""
    nlp = make_joint_nlp(tiny_bert, spans_weight=None, pooling=pooling)
    examples = train(nlp, 0)
    output_layer = nlp.get_pipe("spanbert_textcat").model.get_ref("output_layer")
    weights = [layer.get_param("W") for layer in output_layer.walk() if layer.has_param("W")]
    assert weights and not any(w.any() for w in weights)
    assert encoder_gradient_norm(nlp, examples) == 0.0
    train(nlp, 3)
    assert encoder_gradient_norm(nlp, examples) > 0.0


CATS_READER = {"@architectures": "spacy_spanbert.SpanBoundaryModel.v2", "use_doc_cats": True}
ANNOTATES = ["transformer", "spanbert_textcat"]


def make_cats_conditioned_nlp(encoder: Path, annotating: bool = True) -> Language:
    """transformer, spanbert_textcat, then a spanbert_ner that reads the predicted cats."""
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=transformer_config(encoder))
    textcat_model = {**POOLING["first+mean"], "tok2vec": listener(1.0)}
    nlp.add_pipe("spanbert_textcat", config={"model": textcat_model, "scorer": JOINT_SCORER})
    nlp.add_pipe("spanbert_ner", config={"model": {**CATS_READER, "tok2vec": listener(1.0)}})
    if annotating:
        nlp.config["training"]["annotating_components"] = ANNOTATES
    return nlp


def span_scores(nlp: Language, text: str, cats: dict) -> numpy.ndarray:
    """spanbert_ner's candidate scores for ``text`` with ``doc.cats`` set to ``cats``."""
    doc = nlp.get_pipe("transformer")(nlp.make_doc(text))
    doc.cats = cats
    ner = nlp.get_pipe("spanbert_ner")
    return ner.model.ops.to_numpy(ner.predict([doc])[1])


def test_overfitting_IO_spans_read_predicted_cats(tiny_bert: Path, tmp_path: Path) -> None:
    nlp = make_cats_conditioned_nlp(tiny_bert)
    examples = train(nlp, 120, annotates=ANNOTATES)
    doc_cats = nlp.get_pipe("spanbert_ner").model.get_ref("doc_cats")
    assert doc_cats.attrs["labels"] == INTENTS
    for text, intent, slots in DATA:
        doc = nlp(text)
        assert max(doc.cats, key=lambda label: doc.cats[label]) == intent
        assert sorted((s.start_char, s.end_char, s.label_) for s in doc.spans["sc"]) == sorted(
            slots
        )
    assert nlp.evaluate(examples)["sentence_acc"] == 1.0
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    assert reloaded.get_pipe("spanbert_ner").model.get_ref("doc_cats").attrs["labels"] == INTENTS
    for text, _, _ in DATA:
        doc, doc2 = nlp(text), reloaded(text)
        spans = [(s.start, s.end, s.label_) for s in doc.spans["sc"]]
        assert [(s.start, s.end, s.label_) for s in doc2.spans["sc"]] == spans
        assert doc2.spans["sc"].attrs["scores"] == pytest.approx(doc.spans["sc"].attrs["scores"])
    assert reloaded.evaluate(examples)["sentence_acc"] == 1.0


def test_span_scores_depend_on_the_cats(tiny_bert: Path) -> None:
    nlp = make_cats_conditioned_nlp(tiny_bert)
    train(nlp, 20, annotates=ANNOTATES)
    text = DATA[0][0]
    as_music = span_scores(nlp, text, {label: float(label == "PlayMusic") for label in INTENTS})
    as_weather = span_scores(nlp, text, {label: float(label == "GetWeather") for label in INTENTS})
    assert as_music.shape == as_weather.shape
    assert numpy.abs(as_music - as_weather).max() > 1e-4
    # the plain span head (v1) reads no cats
    plain = make_joint_nlp(tiny_bert)
    train(plain, 20)
    numpy.testing.assert_array_equal(
        span_scores(plain, text, {"PlayMusic": 1.0}), span_scores(plain, text, {"GetWeather": 1.0})
    )


def test_cats_reader_warns_when_training_would_not_see_predicted_cats(tiny_bert: Path) -> None:
    nlp = make_cats_conditioned_nlp(tiny_bert, annotating=False)
    with pytest.warns(UserWarning, match="list spanbert_textcat, transformer in"):
        nlp.initialize(get_examples=lambda: examples_for(nlp))
    nlp = make_cats_conditioned_nlp(tiny_bert)
    nlp.config["training"]["annotating_components"] = ["spanbert_textcat"]
    with pytest.warns(UserWarning, match="list transformer in"):
        nlp.initialize(get_examples=lambda: examples_for(nlp))
    nlp = make_cats_conditioned_nlp(tiny_bert)
    nlp.remove_pipe("spanbert_textcat")
    nlp.config["training"]["annotating_components"] = ["transformer"]
    with pytest.warns(UserWarning, match="no component before it"):
        nlp.initialize(get_examples=lambda: examples_for(nlp))


def test_span_ner_scorer_v1_still_adds_the_joint_scores(tiny_bert: Path) -> None:
    nlp = make_joint_nlp(tiny_bert)
    examples = train(nlp, 120)
    v1 = spacy.registry.scorers.get("spacy_spanbert.span_ner_scorer.v1")()
    v2 = spacy.registry.scorers.get("spacy_spanbert.span_ner_scorer.v2")()
    predicted = [
        Example(doc, eg.reference)
        for doc, eg in zip(nlp.pipe(eg.text for eg in examples), examples)
    ]
    assert v1(predicted, spans_key="sc")["intent_acc"] == 1.0
    assert "intent_acc" not in v2(predicted, spans_key="sc")
