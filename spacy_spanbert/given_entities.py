"""Relations over entities the data provides: the reference entities put on the predicted docs.

For relation classification over given mentions (SemEval-2010 Task 8, TACRED, entities from a
gazetteer or an upstream system), the pipeline has no entity recogniser, so in training and
evaluation the predicted docs must carry the gold entities. ``spacy_spanbert.given_entities.v1``
is a spaCy corpus augmenter that does that; name it in ``[corpora.dev]`` (and
``[corpora.train]``) as ``configs/rel_given_entities.cfg`` does, and ``spacy train`` scores the
relations on real predictions. At inference the entities are whatever the user's pipeline or
code put in ``doc.ents`` (or ``doc.spans[spans_key]``).
"""

from typing import Callable, Iterator, Optional

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry


def with_given_entities(example: Example, spans_key: Optional[str] = None) -> Example:
    """The example with its reference entities (``doc.ents``, or ``doc.spans[spans_key]``)
    aligned onto a copy of its predicted doc."""
    reference = example.reference
    if spans_key:
        source = list(reference.spans[spans_key]) if spans_key in reference.spans else []
    else:
        source = list(reference.ents)
    predicted = example.predicted.copy()
    spans = example.get_aligned_spans_y2x(source, allow_overlap=bool(spans_key))
    if spans_key:
        predicted.spans[spans_key] = spans
    else:
        predicted.ents = spans
    return Example(predicted, reference)


@registry.augmenters("spacy_spanbert.given_entities.v1")
def create_given_entities_augmenter(
    spans_key: Optional[str] = None,
) -> Callable[[Language, Example], Iterator[Example]]:
    """A corpus augmenter: each example's reference entities put on its predicted doc.

    spans_key: copy ``doc.spans[spans_key]`` instead of ``doc.ents`` (set it as
        ``spanbert_rel``'s ``spans_key`` is set).
    """

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        yield with_given_entities(example, spans_key)

    return augment
