"""Where Plait keeps its files (models assembled from packages, indexes, caches): ``PLAIT_DATA_DIR`` or
``~/.plait``. The server's settings set the same variable, so the framework and the platform agree."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir(*parts: str) -> Path:
    """The data directory, or a folder inside it, created if missing."""
    root = private_dir(Path(os.environ.get("PLAIT_DATA_DIR") or Path.home() / ".plait").expanduser())
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def private_dir(path: Path) -> Path:
    """``path``, created owner-only (0700) if missing: a data dir holds the database, the secret key and
    uploads, and the usual umask would let every local user read them. An existing directory keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
