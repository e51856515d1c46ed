"""Files of the embedded indexes: a JSON manifest is the commit point for the data files it names.

Data files get fresh names on every save and the manifest is replaced atomically last, so a crash mid-save leaves
the previous manifest and the files it names intact; files no manifest names are removed after the commit.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plait.knowledge.errors import IndexStoreError


def check_json(metadata: Any, what: str) -> None:
    """Refuse metadata that cannot be stored as JSON (every store keeps it so) before anything changes."""
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise IndexStoreError(
            f"{what}: metadata must be JSON (strings, finite numbers, lists, objects): {error}"
        ) from None


def fresh_name(prefix: str, suffix: str = "") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}{suffix}"


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    """Atomically replace ``path`` with ``manifest`` as JSON, flushed to disk first."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(manifest, file, ensure_ascii=False, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError) as error:  # TypeError, ValueError: metadata that is not JSON
        temporary.unlink(missing_ok=True)
        raise IndexStoreError(f"could not write {path}: {error}") from error


def read_manifest(path: Path, kind: str, version: int) -> dict[str, Any]:
    """Read a manifest written by :func:`write_manifest`; IndexStoreError when missing, unreadable or foreign."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexStoreError(f"no {kind} at {path.parent}: {path.name} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexStoreError(f"the {kind} at {path.parent} is corrupt: {path.name}: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("kind") != kind or manifest.get("version") != version:
        raise IndexStoreError(f"{path} is not a version-{version} {kind} manifest")
    return manifest


def remove_stale(folder: Path, prefix: str, keep: str) -> None:
    """Remove the data files and folders called ``prefix-*`` that the committed manifest no longer names."""
    for entry in folder.glob(f"{prefix}-*"):
        if entry.name != keep:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
