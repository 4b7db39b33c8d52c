"""Pictures of entities and the relations between them, in displaCy's dependency style.

Each entity becomes one node labelled with its type; each relation an arc from head to tail
labelled with the relation. Uses displaCy's manual mode, so it needs no parser.
"""

from typing import Any, Dict, List

from spacy import displacy
from spacy.tokens import Doc

from .relations import get_relations


def relation_graph(doc: Doc) -> Dict[str, Any]:
    """displaCy manual "dep" data: words (entities merged, tagged with their type) and arcs."""
    words: List[Dict[str, str]] = []
    word_of_token: Dict[int, int] = {}
    ents = {ent.start: ent for ent in doc.ents}
    i = 0
    while i < len(doc):
        ent = ents.get(i)
        end = ent.end if ent is not None else i + 1
        for token_i in range(i, end):
            word_of_token[token_i] = len(words)
        words.append({"text": doc[i:end].text, "tag": ent.label_ if ent is not None else ""})
        i = end
    arcs = []
    for rel in get_relations(doc):
        head, tail = word_of_token[rel.head.start], word_of_token[rel.tail.start]
        if head == tail:
            continue
        arcs.append(
            {
                "start": min(head, tail),
                "end": max(head, tail),
                "label": rel.label,
                "dir": "right" if head < tail else "left",
            }
        )
    return {"words": words, "arcs": arcs}


def render_relations(doc: Doc, *, page: bool = True, compact: bool = False) -> str:
    """HTML (``page=True``) or SVG markup of the doc's entities and relations."""
    options = {"compact": compact, "distance": 140, "word_spacing": 30}
    return displacy.render(
        relation_graph(doc), style="dep", manual=True, page=page, options=options
    )
