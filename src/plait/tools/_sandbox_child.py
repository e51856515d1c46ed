"""The code runner's child side: confine this fresh interpreter, then run the code read from stdin.

The parent starts it as ``python -I -S -B -u -X utf8 _sandbox_child.py CONFIG``. It imports only the standard
library, so what the code may import, reach and use is decided here, not by whoever started the parent.
Confinement happens in an order that keeps each step possible: the network namespace needs root, limits are
set before root is dropped (so they cannot be raised again), and the audit hook goes in last.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import linecache
import os
import resource
import socket
import sys
import traceback
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

FILENAME = "<sandbox>"
_CLONE_NEWNET = 0x40000000
_LIMITS = {
    "cpu_seconds": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "processes": resource.RLIMIT_NPROC,
}


class AllowedPackages:
    """Finds only the allowed top-level packages in site-packages; the rest of it stays invisible.

    Submodules are found through their package's ``__path__`` by the ordinary finders.
    """

    def __init__(self, names: Sequence[str], directories: Sequence[str]) -> None:
        self.names = frozenset(names)
        self.directories = list(directories)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is not None or fullname not in self.names:
            return None
        return PathFinder.find_spec(fullname, self.directories)


def refuse_network(event: str, args: tuple[Any, ...]) -> None:
    """Refuse every socket operation but creating a Unix socket, which ``asyncio`` needs for its self-pipe."""
    if not event.startswith("socket."):
        return
    if event == "socket.__new__" and len(args) > 1 and args[1] == socket.AF_UNIX:
        return
    raise PermissionError(errno.EACCES, f"network access is not allowed in the sandbox ({event})")


def isolate_network() -> str:
    """Move into a network namespace of our own (no interfaces up); say which layer blocks the network."""
    try:
        unshare = getattr(os, "unshare", None)  # Python 3.12+
        if unshare is not None:
            unshare(_CLONE_NEWNET)
        else:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(_CLONE_NEWNET) != 0:
                return "audit-hook"
    except (OSError, AttributeError):
        return "audit-hook"
    return "namespace+audit-hook"


def apply_limits(limits: dict[str, int]) -> None:
    """Hard limits equal soft ones except CPU, whose hard limit is a second later: SIGXCPU first, then SIGKILL."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in _LIMITS.items():
        value = limits[key]
        resource.setrlimit(which, (value, value + 1 if which == resource.RLIMIT_CPU else value))


def drop_privileges(uid: int | None) -> None:
    if uid is None:
        return
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def report(fd: int, **status: Any) -> None:
    """Tell the parent something; the code may have closed the descriptor, which only costs it the report."""
    with contextlib.suppress(OSError):
        os.write(fd, (json.dumps(status) + "\n").encode())


def run(code: str, fd: int) -> int:
    """Run the code as ``__main__``; a traceback shows its lines but none of this file's frames."""
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(code, FILENAME, "exec"), namespace)
    except SystemExit:
        raise
    except MemoryError as exc:
        namespace.clear()
        report(fd, limit="memory")
        traceback.print_exception(type(exc), exc, exc.__traceback__ and exc.__traceback__.tb_next)
        return 1
    except BaseException as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
            report(fd, limit="file_size")
        traceback.print_exception(type(exc), exc, exc.__traceback__ and exc.__traceback__.tb_next)
        return 1
    return 0


def main(argv: Sequence[str]) -> int:
    config = json.loads(argv[1])
    fd: int = config["status_fd"]
    code = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    report(fd, network=isolate_network())
    apply_limits(config["limits"])
    drop_privileges(config["uid"])
    sys.meta_path.append(AllowedPackages(config["packages"], config["site"]))
    sys.addaudithook(refuse_network)
    return run(code, fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
