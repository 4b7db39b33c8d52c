"""A Hugging Face cache laid out as huggingface_hub writes it, filled with local files."""

import hashlib
import shutil
from pathlib import Path


def add_to_hub_cache(cache: Path, repo_id: str, files_from: Path, revision: str = "main") -> Path:
    """Put the files of ``files_from`` into ``cache`` as hub id ``repo_id`` at ``revision``:
    ``models--ORG--NAME/blobs/<sha>``, ``snapshots/<commit>/<file>`` links to the blobs, and
    ``refs/<revision>`` naming the commit. Returns the snapshot directory."""
    repo_dir = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()
    snapshot = repo_dir / "snapshots" / commit
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in sorted(files_from.iterdir()):
        if not path.is_file():
            continue
        blob = repo_dir / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
        shutil.copyfile(path, blob)
        link = snapshot / path.name
        link.unlink(missing_ok=True)
        link.symlink_to(Path("..") / ".." / "blobs" / blob.name)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / revision).write_text(commit)
    return snapshot
