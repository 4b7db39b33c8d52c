"""Raw text of GENIA's abstracts for continued pretraining: the training split's documents
only, so no dev or test text is seen in pretraining.

Each MEDLINE article of GENIAcorpus3.02.xml becomes one document: its title and abstract
sentences as plain text (the annotation markup dropped), in the order of the split's id list.
A document listed twice in the corpus is read from its later copy, as the data's conversion
to JSON lines does.

    python benchmarks/genia_abstracts.py OUT.txt   # one abstract a line
"""

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict, List

from common import SHARED_DATA

GENIA = SHARED_DATA / "genia"
XML = GENIA / "raw_GENIA_term_3.02" / "GENIAcorpus3.02.xml"
SPLITS = GENIA / "cnn_nested_ner_reference" / "splits"


def abstracts(xml_path: Path) -> Dict[str, str]:
    """Title + abstract text per MEDLINE id (the later copy of a duplicated id)."""
    texts = {}
    for article in ElementTree.parse(xml_path).getroot().iter("article"):
        doc_id = (article.findtext("articleinfo/bibliomisc") or "").strip()
        sentences = [
            " ".join("".join(sentence.itertext()).split())
            for part in ("title", "abstract")
            for sentence in article.iterfind(f"{part}/sentence")
        ]
        texts[doc_id] = " ".join(sentences)
    return texts


def split_ids(split: str) -> List[str]:
    return (SPLITS / f"{split}.txt").read_text(encoding="utf8").split()


def training_abstracts(xml_path: Path = XML) -> List[str]:
    """The training split's abstracts, one string each; never a dev or test document."""
    texts = abstracts(xml_path)
    held_out = set(split_ids("dev")) | set(split_ids("test"))
    return [texts[doc_id] for doc_id in dict.fromkeys(split_ids("train")) if doc_id not in held_out]


if __name__ == "__main__":
    lines = training_abstracts()
    Path(sys.argv[1]).write_text("\n".join(lines) + "\n", encoding="utf8")
    print(f"{len(lines)} training abstracts -> {sys.argv[1]}")
