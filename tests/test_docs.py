"""Every Python snippet in the README and docs/ runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPETS = [
    (path, index, code)
    for path in DOCS
    for index, code in enumerate(BLOCK.findall(path.read_text()))
    if "# not run" not in code
]


@pytest.mark.parametrize(
    ("path", "index", "code"), SNIPPETS, ids=[f"{p.relative_to(ROOT)}#{i}" for p, i, _ in SNIPPETS]
)
def test_snippet_runs(path: Path, index: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, f"{path.name} snippet {index} failed:\n{done.stderr}"
