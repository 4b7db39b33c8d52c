"""The batch n-gram suggester proposes exactly spaCy's n-gram spans, in the same order."""

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.util import registry

from spacy_spanbert.suggesters import CACHED_LENGTH

WORDS = "the quick brown fox jumps over the lazy dog".split()


@pytest.mark.parametrize("min_size,max_size", [(1, 1), (1, 3), (2, 8), (1, 12)])
def test_same_spans_as_spacys_ngram_range_suggester(min_size: int, max_size: int) -> None:
    vocab = spacy.blank("en").vocab
    rng = numpy.random.default_rng(0)
    lengths = [0, 1, 2, 5, 9, 0, 3, CACHED_LENGTH + 3] + list(rng.integers(0, 40, size=20))
    docs = [Doc(vocab, words=[WORDS[i % len(WORDS)] for i in range(n)]) for n in lengths]
    ours = registry.misc.get("spacy_spanbert.ngram_range_suggester.v1")(min_size, max_size)(docs)
    spacys = registry.misc.get("spacy.ngram_range_suggester.v1")(min_size, max_size)(docs)
    numpy.testing.assert_array_equal(ours.lengths, spacys.lengths)
    numpy.testing.assert_array_equal(ours.dataXd, spacys.dataXd)


def test_no_docs_and_no_spans() -> None:
    suggest = registry.misc.get("spacy_spanbert.ngram_range_suggester.v1")(1, 3)
    assert suggest([]).dataXd.shape == (0, 2)
    doc = Doc(spacy.blank("en").vocab, words=[])
    empty = suggest([doc])
    assert list(empty.lengths) == [0] and empty.dataXd.shape == (0, 2)


def test_cached_spans_are_not_shared_with_the_caller() -> None:
    suggest = registry.misc.get("spacy_spanbert.ngram_range_suggester.v1")(1, 2)
    doc = Doc(spacy.blank("en").vocab, words=WORDS[:3])
    first = suggest([doc])
    first.dataXd[:] = -1
    assert suggest([doc]).dataXd.tolist() == [[0, 1], [1, 2], [2, 3], [0, 2], [1, 3]]
