"""Who runs the code runner's child, and with which interpreter.

As root, the child drops to a fresh unprivileged user id, which only works if that user can still read the
interpreter's standard library and the allowed packages after the drop. A Python installed under a private
home (``/root/.pyenv``, mode 0700) is out of its reach; a system Python of the same version is then used
instead, since same-version CPython shares the extension ABI of the packages. Without either, or when the
parent is not root, the child keeps the parent's user.
"""

from __future__ import annotations

import functools
import os
import random
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

FIRST_UID = 100_000
_LAST_UID = 2**31 - 1


@functools.cache
def interpreter(site: tuple[str, ...]) -> tuple[str, bool]:
    """The interpreter for the child, and whether an unprivileged user can run it with ``site``."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        real = Path(os.path.realpath(candidate))
        stdlib = real.parent.parent / "lib" / f"python{version}"
        if real.is_file() and stdlib.is_dir() and all(_reachable(p) for p in (real, stdlib, *map(Path, site))):
            return candidate, True
    return sys.executable, False


def sandbox_uid(site: Sequence[str]) -> tuple[str, int | None]:
    """The interpreter and a fresh user id for one run, or the parent's interpreter and None."""
    python, portable = interpreter(tuple(site))
    if os.geteuid() != 0 or not portable:
        return sys.executable, None
    spans = _mapped_spans()
    if not spans:
        return sys.executable, None
    low, high = random.choice(spans)
    return python, random.randrange(low, high)


def _mapped_spans() -> list[tuple[int, int]]:
    """Ranges of user ids this user namespace maps, from FIRST_UID up; setuid to any other fails."""
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return []
    spans = []
    for line in lines:
        inside, _outside, count = (int(part) for part in line.split())
        low, high = max(inside, FIRST_UID), min(inside + count, _LAST_UID)
        if high > low:
            spans.append((low, high))
    return spans


def _reachable(path: Path) -> bool:
    """Whether any user can read ``path``: every folder on the way is searchable, the end readable."""
    try:
        mode = os.stat(path).st_mode
        wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        if mode & wanted != wanted:
            return False
        return all(os.stat(parent).st_mode & stat.S_IXOTH for parent in path.resolve().parents)
    except OSError:
        return False
