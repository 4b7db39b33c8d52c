import tracemalloc

import spacy
from spacy.attrs import NORM

from spacy_spanbert.memory import compact_vocab


def _zones(nlp, start: int, n_zones: int, per_zone: int = 500) -> None:
    for zone in range(start, start + n_zones):
        with nlp.memory_zone():
            for i in range(per_zone):
                nlp.make_doc(f"ref R{zone}x{i} to user{zone}.{i}@mail{i}.example")
        compact_vocab(nlp.vocab)


def test_compact_vocab_keeps_strings_and_lexeme_attributes() -> None:
    nlp = spacy.blank("en")
    nlp.vocab.strings.add("PERSON")
    before = {"Apple": nlp.vocab["Apple"].is_title, "42": nlp.vocab["42"].like_num}
    strings = set(nlp.vocab.strings)
    with nlp.memory_zone():
        nlp.make_doc("A doc with transient words like zzyzx and qwv7")
    compact_vocab(nlp.vocab)
    assert set(nlp.vocab.strings) == strings
    assert nlp.vocab.strings["PERSON"] == nlp.vocab.strings.add("PERSON")
    assert {"Apple": nlp.vocab["Apple"].is_title, "42": nlp.vocab["42"].like_num} == before
    doc = nlp("Apple sold 42 apples.")
    assert [t.text for t in doc] == ["Apple", "sold", "42", "apples", "."]


def test_compact_vocab_leaves_the_norm_getter_as_it_was() -> None:
    nlp = spacy.blank("en")
    nlp.vocab.lookups.add_table("lexeme_norm", {"colour": "color"})
    getter = nlp.vocab.lex_attr_getters.get(NORM)
    for _ in range(3):
        compact_vocab(nlp.vocab)
    assert nlp.vocab.lex_attr_getters.get(NORM) is getter


def test_compact_vocab_refuses_to_run_inside_a_zone() -> None:
    nlp = spacy.blank("en")
    with nlp.memory_zone():
        try:
            compact_vocab(nlp.vocab)
        except ValueError as error:
            assert "between memory zones" in str(error)
        else:
            raise AssertionError("expected a ValueError")


def test_compacted_tables_stop_growing_across_zones() -> None:
    """Without compaction each zone's freed strings stay as tombstones that make the hash
    tables double again and again; with it, traced memory after warm-up stays flat."""
    nlp = spacy.blank("en")
    _zones(nlp, 0, 4)
    tracemalloc.start()
    try:
        _zones(nlp, 4, 4)
        warm, _ = tracemalloc.get_traced_memory()
        _zones(nlp, 8, 40)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - warm < 256 * 1024, (warm, after)
