"""The README's Layout table names only paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_path_in_the_layout_table_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    paths = re.findall(r"^\| `([^`]+)` \|", layout, flags=re.MULTILINE)
    assert len(paths) >= 8, layout
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert missing == []
