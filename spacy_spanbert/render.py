"""Pictures: entities and the relations between them, in displaCy's dependency style (each
entity one node labelled with its type, each relation an arc from head to tail; displaCy's
manual mode, so no parser is needed), and explanations as word heatmaps in displaCy's look.
"""

from html import escape
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


ATTRIBUTION_STYLE = (
    "font-family: -apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif;"
    " line-height: 2.5; direction: ltr; padding: 1rem 0"
)


def render_attributions(explanations: List[Any], *, page: bool = True) -> str:
    """HTML heatmaps of explanations (``spacy_spanbert.explain``), displaCy's look: each word
    shaded by its attribution (blue for, red against the target, scaled to the largest), the
    target's own words outlined, its probability in the caption."""
    figures = []
    for explanation in explanations:
        doc, scores = explanation.doc, explanation.attributions
        scale = float(abs(scores).max()) or 1.0
        own = set(explanation.target_tokens)
        words = []
        for token, score in zip(doc, scores):
            alpha = min(abs(float(score)) / scale, 1.0)
            color = (30, 100, 220) if score >= 0 else (220, 50, 50)
            border = "2px solid #333" if token.i in own else "2px solid transparent"
            background = f"rgba{(*color, round(alpha, 3))}"
            words.append(
                f'<mark title="{float(score):+.4f}" style="background: {background};'
                f" padding: 0.3em 0.35em; margin: 0 0.1em; border-radius: 0.35em;"
                f' border: {border}">{escape(token.text)}</mark>{escape(token.whitespace_)}'
            )
        caption = (
            f"{escape(describe_target(explanation))}: probability {explanation.probability:.4f}"
            f" ({explanation.method.replace('_', ' ')})"
        )
        figures.append(
            '<figure style="margin-bottom: 2rem">'
            f'<div class="entities" style="{ATTRIBUTION_STYLE}">{"".join(words)}</div>'
            '<figcaption style="font-size: 0.9em; color: #555">'
            f"{caption}</figcaption></figure>"
        )
    body = "\n".join(figures)
    if not page:
        return body
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>spacy-spanbert explanations</title></head>"
        f'<body style="margin: 0 2rem">{body}</body></html>\n'
    )


def describe_target(explanation: Any) -> str:
    """``PER "Anna Smith"``, ``Work_For("Anna Smith", "Acme Corp")`` or ``cat A``."""
    target, doc = explanation.target, explanation.doc
    if hasattr(target, "start"):
        return f'{target.label} "{doc[target.start : target.end].text}"'
    if hasattr(target, "head"):
        return f'{target.label}("{target.head.text}", "{target.tail.text}")'
    return f"cat {target.label}"
