"""Flat and nested decoding from one set of span scores."""

import numpy
import spacy
from spacy.tokens import Span

from spacy_spanbert.decoding import decode_batch, flat_token_tags, spans_above_threshold

BOUNDS = numpy.array([[0, 3], [1, 2], [2, 4], [5, 6]], dtype="i")
# columns: no-entity, A, B
PROBS = numpy.array(
    [[0.1, 0.8, 0.1], [0.05, 0.05, 0.9], [0.3, 0.6, 0.1], [0.6, 0.2, 0.2]], dtype="f"
)


def test_nested_keeps_every_span_above_threshold() -> None:
    kept = spans_above_threshold(BOUNDS, PROBS, 0.5)
    assert list(zip(kept.starts, kept.ends, kept.labels)) == [(0, 3, 0), (1, 2, 1), (2, 4, 0)]
    numpy.testing.assert_allclose(kept.scores, [0.8, 0.9, 0.6])


def test_threshold_is_inclusive_and_configurable() -> None:
    assert len(spans_above_threshold(BOUNDS, PROBS, 0.9).starts) == 1
    assert len(spans_above_threshold(BOUNDS, PROBS, 0.2).starts) == 4


def flat_bounds(bounds, probs, threshold=0.5):
    """(start, end) of the flat decoding of one doc's candidates, in order of start."""
    decoded = decode_batch(bounds, probs, [len(bounds)], threshold)
    return [(int(decoded.spans.starts[i]), int(decoded.spans.ends[i])) for i in decoded.flat]


def test_flat_highest_score_wins_overlaps() -> None:
    # (1,2) scores 0.9 and beats (0,3); (2,4) does not overlap (1,2)
    assert flat_bounds(BOUNDS, PROBS) == [(1, 2), (2, 4)]


def test_flat_tie_goes_to_longer_span() -> None:
    bounds = numpy.array([[0, 1], [0, 2]], dtype="i")
    probs = numpy.array([[0.2, 0.8], [0.2, 0.8]], dtype="f")
    assert flat_bounds(bounds, probs) == [(0, 2)]


def test_empty_inputs() -> None:
    kept = spans_above_threshold(
        numpy.zeros((0, 2), dtype="i"), numpy.zeros((0, 3), dtype="f"), 0.5
    )
    assert len(kept.starts) == 0
    decoded = decode_batch(numpy.zeros((0, 2), dtype="i"), numpy.zeros((0, 3)), [0, 0], 0.5)
    assert decoded.offsets.tolist() == [0, 0, 0] and decoded.flat_offsets.tolist() == [0, 0, 0]


def test_flat_without_overlaps_keeps_all_in_order_of_start() -> None:
    bounds = numpy.array([[3, 5], [0, 1], [1, 3]], dtype="i")
    probs = numpy.array([[0.1, 0.9], [0.4, 0.6], [0.3, 0.7]], dtype="f")
    assert flat_bounds(bounds, probs) == [(0, 1), (1, 3), (3, 5)]


def test_a_batch_decodes_as_its_docs_one_by_one() -> None:
    rng = numpy.random.default_rng(0)
    lengths = numpy.array([40, 0, 70, 3, 30])
    bounds = numpy.concatenate([rng.integers(0, 20, size=(n, 1)) + [[0, 2]] for n in lengths])
    probs = rng.dirichlet([1.0, 0.5, 0.5], size=int(lengths.sum())).astype("f")
    decoded = decode_batch(bounds, probs, lengths, 0.4)
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)])
    for i, (start, end) in enumerate(zip(offsets[:-1], offsets[1:])):
        alone = spans_above_threshold(bounds[start:end], probs[start:end], 0.4)
        mine = slice(decoded.offsets[i], decoded.offsets[i + 1])
        got = decoded.spans
        assert got.starts[mine].tolist() == alone.starts.tolist()  # candidate order kept
        assert got.labels[mine].tolist() == alone.labels.tolist()
        assert got.scores[mine].tolist() == alone.scores.tolist()
        flat = decoded.flat[decoded.flat_offsets[i] : decoded.flat_offsets[i + 1]]
        flat_alone = flat_bounds(bounds[start:end], probs[start:end], 0.4)
        assert list(zip(got.starts[flat].tolist(), got.ends[flat].tolist())) == flat_alone
    assert len(decoded.flat) < len(decoded.spans.starts)  # some docs had overlaps to resolve


def test_flat_token_tags_are_what_set_ents_writes() -> None:
    rng = numpy.random.default_rng(1)
    lengths = numpy.array([40, 0, 70, 3, 30])
    doc_lengths = numpy.array([22, 0, 23, 21, 24])
    bounds = numpy.concatenate([rng.integers(0, 20, size=(n, 1)) + [[0, 2]] for n in lengths])
    probs = rng.dirichlet([1.0, 0.5, 0.5], size=int(lengths.sum())).astype("f")
    decoded = decode_batch(bounds, probs, lengths, 0.4)
    iob, tags = flat_token_tags(decoded, doc_lengths)
    nlp = spacy.blank("en")
    labels = ["A", "B"]
    token_offsets = numpy.concatenate([[0], numpy.cumsum(doc_lengths)])
    adjacent = 0
    for i, n_tokens in enumerate(doc_lengths):
        doc = nlp.make_doc(" ".join(["w"] * int(n_tokens)))
        flat = decoded.flat[decoded.flat_offsets[i] : decoded.flat_offsets[i + 1]]
        spans = decoded.spans
        ents = [Span(doc, spans.starts[j], spans.ends[j], labels[spans.labels[j]]) for j in flat]
        adjacent += sum(a.end == b.start for a, b in zip(ents, ents[1:]))
        doc.set_ents(ents, default="outside")
        mine = slice(token_offsets[i], token_offsets[i + 1])
        assert iob[mine].tolist() == [token.ent_iob for token in doc]
        assert tags[mine].tolist() == [
            (labels.index(t.ent_type_) + 1 if t.ent_type else 0) for t in doc
        ]
    assert adjacent > 0  # entities that touch keep their own B tag
