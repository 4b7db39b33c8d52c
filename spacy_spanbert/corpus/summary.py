"""What a reader produced: counts per label, and every repair it made."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from spacy.tokens import Doc
from wasabi import msg


@dataclass
class CorpusSummary:
    """Counts of what a reader read. Nothing is dropped without being counted here.

    skipped: what was left out, by reason (e.g. "brat attribute lines"); changed: what was
    read differently from how it was written, by what happened (e.g. "spans moved to token
    boundaries"); lost_relations: one line per relation left out because an argument was;
    far_relations: relations whose arguments are more than ``FAR_TOKENS`` tokens apart.
    """

    source: str
    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: Counter = field(default_factory=Counter)
    spans: Counter = field(default_factory=Counter)
    relations: Counter = field(default_factory=Counter)
    cats: Counter = field(default_factory=Counter)
    not_in_ents: int = 0
    comments: int = 0
    repairs: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    lost_relations: List[str] = field(default_factory=list)
    far_relations: int = 0

    def count_doc(self, doc: Doc, *, n_sents: int = 1, spans_key: Optional[str] = None) -> None:
        self.documents += 1
        self.sentences += n_sents
        self.tokens += len(doc)
        self.entities.update(ent.label_ for ent in doc.ents)
        if spans_key is not None and spans_key in doc.spans:
            self.spans.update(span.label_ for span in doc.spans[spans_key])
        self.cats.update(label for label, value in doc.cats.items() if value >= 0.5)

    def to_dict(self) -> Dict[str, object]:
        return {
            "source": self.source,
            "documents": self.documents,
            "sentences": self.sentences,
            "tokens": self.tokens,
            "entities": dict(sorted(self.entities.items())),
            "spans": dict(sorted(self.spans.items())),
            "relations": dict(sorted(self.relations.items())),
            "cats": dict(sorted(self.cats.items())),
            "not_in_ents": self.not_in_ents,
            "comments": self.comments,
            "repairs": len(self.repairs),
            "skipped": dict(sorted((+self.skipped).items())),
            "changed": dict(sorted((+self.changed).items())),
            "lost_relations": len(self.lost_relations),
            "far_relations": self.far_relations,
        }

    def print(self) -> None:
        msg.divider(self.source)
        msg.info(f"{self.documents} documents, {self.sentences} sentences, {self.tokens} tokens")
        for name in ("entities", "spans", "relations", "cats"):
            counts: Counter = getattr(self, name)
            if counts:
                msg.table(sorted(counts.items()), header=(name, "count"), divider=True)
        if self.not_in_ents:
            msg.warn(f"{self.not_in_ents} spans overlap others and are only in doc.spans")
        if self.comments:
            msg.text(f"{self.comments} comment lines skipped")
        for what, count in sorted((+self.skipped).items()):
            msg.warn(f"skipped {count} {what}")
        for what, count in sorted((+self.changed).items()):
            msg.warn(f"{count} {what}")
        if self.lost_relations:
            msg.warn(f"{len(self.lost_relations)} relations lost with an argument:")
            for line in self.lost_relations:
                msg.text(f"  {line}")
        if self.far_relations:
            msg.info(
                f"{self.far_relations} relations join entities more than {FAR_TOKENS} tokens "
                "apart: kept, and learnable only with spanbert_rel's max_distance above that"
            )
        for note in self.notes:
            msg.text(note)
        for repair in self.repairs:
            msg.warn(f"repaired {repair}")


FAR_TOKENS = 100
"""spanbert_rel's default ``max_distance``: relations farther apart are counted."""
