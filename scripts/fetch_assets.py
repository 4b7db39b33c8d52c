"""Fetch project.yml's assets: copy from ../shared/data when present, else download.

Every file's MD5 is checked against project.yml. Usage: python scripts/fetch_assets.py [FILTER]
(only assets whose path contains FILTER).
"""

import hashlib
import shutil
import sys
import urllib.request
from pathlib import Path

import srsly
from wasabi import msg

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def main(filter_: str = "") -> None:
    assets = srsly.read_yaml(ROOT / "project.yml")["assets"]
    for asset in assets:
        dest = ROOT / asset["dest"]
        if filter_ not in asset["dest"]:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        local = SHARED / Path(asset["dest"]).relative_to("assets")
        if local.is_file():
            shutil.copyfile(local, dest)
            source = str(local)
        else:
            with urllib.request.urlopen(asset["url"]) as response, dest.open("wb") as file_:
                shutil.copyfileobj(response, file_)
            source = asset["url"]
        md5 = hashlib.md5(dest.read_bytes()).hexdigest()
        if md5 != asset["checksum"]:
            dest.unlink()
            msg.fail(f"Checksum mismatch for {asset['dest']} from {source}", exits=1)
        msg.good(f"{asset['dest']} <- {source}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
