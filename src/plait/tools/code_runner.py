"""A Python code runner: each run is a fresh, confined interpreter in a temporary folder of its own.

Every run gets, from the kernel: CPU-time, address-space, file-size, open-file and process limits
(``setrlimit``), a wall-clock timeout after which everything it started is killed, capped output, a new
temporary working directory (deleted afterwards), and, where the kernel allows it, a network namespace with no
interfaces up. When the parent runs as root, the child also runs as a fresh unprivileged user id of its own:
it cannot write outside its folder (and world-writable ones such as ``/tmp``), the process limit counts its
processes alone, and every process it left behind, even one that left the process group, is killed by user id.

Inside the interpreter an audit hook refuses socket operations (but for Unix sockets, which ``asyncio`` needs
for its self-pipe): a Python-level block where namespaces are not allowed. Native code can get around an audit
hook, so that layer alone is not a boundary; ``CodeResult.network`` says which layers applied to a run.

The child is the parent's interpreter (or, where the unprivileged user cannot read that one, a system Python
of the same version: see ``_sandbox_identity``) started with ``-I -S``: the standard library, plus the
packages in ``PACKAGES`` found in the parent's site-packages; nothing else there is importable. That is a
curation, not a security boundary: the limits, the namespace and the user id are.
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import shutil
import signal
import stat
import sysconfig
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any

from plait.schema import ToolSpec
from plait.tools._sandbox_identity import sandbox_uid
from plait.tools._sandbox_process import Child, Outcome, StartError, run_child
from plait.tools.errors import InvalidArguments, ToolError

PACKAGES = ("numpy",)
"""Importable besides the standard library, when installed next to the parent."""

_CHILD = Path(__file__).with_name("_sandbox_child.py")


class SandboxError(ToolError):
    """The code could not be run at all: bad limits, or the sandbox failed to start."""


class Limit(enum.StrEnum):
    """Which limit ended a run."""

    TIMED_OUT = "timed_out"
    CPU = "cpu_exceeded"
    MEMORY = "memory_exceeded"
    OUTPUT = "output_exceeded"
    FILE_SIZE = "file_size_exceeded"


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What one run may use. ``output_bytes`` is kept of stdout and of stderr each; past it the run is killed."""

    cpu_seconds: int = 5
    wall_seconds: float = 10.0
    memory_mb: int = 512
    output_bytes: int = 64_000
    file_mb: int = 16
    processes: int = 16
    open_files: int = 64
    code_chars: int = 100_000

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise SandboxError(f"limit {name} must be a positive number, not {value!r}")

    def child(self) -> dict[str, int]:
        return {
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_mb * 1024 * 1024,
            "file_bytes": self.file_mb * 1024 * 1024,
            "open_files": self.open_files,
            "processes": self.processes,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeResult:
    """How a run ended. ``exit_code`` is None when a signal ended it, and ``signal`` names that signal."""

    stdout: str
    stderr: str
    exit_code: int | None
    signal: str | None
    duration: float
    limit: Limit | None
    truncated: bool
    network: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None

    @property
    def timed_out(self) -> bool:
        return self.limit is Limit.TIMED_OUT

    @property
    def cpu_exceeded(self) -> bool:
        return self.limit is Limit.CPU

    @property
    def memory_exceeded(self) -> bool:
        return self.limit is Limit.MEMORY

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["limit"] = None if self.limit is None else str(self.limit)
        fields["duration"] = round(self.duration, 3)
        return fields


async def run_code(code: str, limits: Limits | None = None, *, packages: Sequence[str] = PACKAGES) -> CodeResult:
    """Run ``code`` in a fresh sandboxed interpreter and report how it ended; it never outlives the call."""
    limits = limits or Limits()
    if not isinstance(code, str):
        raise SandboxError(f"code must be a string, not {type(code).__name__}")
    if len(code) > limits.code_chars:
        raise SandboxError(f"code is {len(code)} characters long; the limit is {limits.code_chars}")
    site = _site_directories()
    missing = [name for name in packages if PathFinder.find_spec(name, site) is None]
    if missing:
        raise SandboxError(f"packages not installed next to this interpreter: {', '.join(missing)}")
    python, uid = sandbox_uid(site if packages else [])
    workdir = await asyncio.to_thread(_make_workdir, uid)
    config = {"limits": limits.child(), "uid": uid, "packages": list(packages), "site": site}

    def command(status_fd: int) -> list[str]:
        argument = json.dumps({**config, "status_fd": status_fd})
        return [python, "-I", "-S", "-B", "-u", "-X", "utf8", str(_CHILD), argument]

    child = Child(
        command=command,
        stdin=code.encode("utf-8", errors="replace"),
        cwd=workdir,
        env=_environment(workdir),
        output_cap=limits.output_bytes,
        wall_seconds=limits.wall_seconds,
        sweeper=None if uid is None else (python, uid),
    )
    try:
        outcome = await run_child(child)
    except StartError as exc:
        raise SandboxError(str(exc)) from exc
    finally:
        await asyncio.to_thread(_remove_workdir, workdir)
    return _result(outcome)


def _result(outcome: Outcome) -> CodeResult:
    returncode = outcome.returncode
    return CodeResult(
        stdout=outcome.stdout.decode("utf-8", errors="replace"),
        stderr=outcome.stderr.decode("utf-8", errors="replace"),
        exit_code=returncode if returncode >= 0 else None,
        signal=signal.Signals(-returncode).name if returncode < 0 else None,
        duration=outcome.duration,
        limit=_limit_hit(outcome, returncode),
        truncated=outcome.truncated,
        network=str(outcome.status.get("network", "none")),
    )


def _limit_hit(outcome: Outcome, returncode: int) -> Limit | None:
    if outcome.timed_out:
        return Limit.TIMED_OUT
    if outcome.truncated:
        return Limit.OUTPUT
    reported = {"memory": Limit.MEMORY, "file_size": Limit.FILE_SIZE}.get(str(outcome.status.get("limit")))
    if reported is not None:
        return reported
    if returncode == -signal.SIGXCPU:
        return Limit.CPU
    return None


def _site_directories() -> list[str]:
    return list(dict.fromkeys(sysconfig.get_path(key) for key in ("purelib", "platlib")))


def _environment(workdir: Path) -> dict[str, str]:
    """Nothing of the parent's: its variables may hold keys. One BLAS thread keeps numpy under the process limit."""
    home = str(workdir)
    threads = dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1")
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", **threads}


def _make_workdir(uid: int | None) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="plait-code-"))
    if uid is not None:
        os.chown(workdir, uid, uid)
    return workdir


def _remove_workdir(workdir: Path) -> None:
    """Remove the folder even where the code took its own permissions away."""

    def retry(function: Callable[..., Any], path: str, _error: Any) -> None:
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IRWXU)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
        function(path)

    shutil.rmtree(workdir, onerror=retry)


class CodeRunner:
    """The code runner as a tool an agent can call; at most ``concurrency`` runs at a time."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        packages: Sequence[str] = PACKAGES,
        name: str = "run_python",
        concurrency: int = 2,
    ) -> None:
        if concurrency < 1:
            raise SandboxError(f"concurrency must be at least 1, not {concurrency}")
        self.limits = limits or Limits()
        self.packages = tuple(packages)
        self._slots = asyncio.Semaphore(concurrency)
        allowed = ", ".join(self.packages) or "nothing else"
        self.spec = ToolSpec(
            name=name,
            description=(
                "Run a Python 3 program in a fresh sandbox and get its stdout, stderr and exit code. "
                f"Print what you want to see. Standard library plus {allowed}; no network; files only in the "
                f"current folder, deleted afterwards; at most {self.limits.cpu_seconds} s of CPU, "
                f"{self.limits.wall_seconds:g} s in all and {self.limits.memory_mb} MB of memory."
            ),
            parameters={
                "type": "object",
                "properties": {"code": {"type": "string", "description": "The Python source to run."}},
                "required": ["code"],
            },
        )

    async def call(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        code = arguments.get("code")
        if not isinstance(code, str) or not code.strip():
            raise InvalidArguments(self.spec.name, [("code", "must be a non-empty string of Python source")])
        async with self._slots:
            result = await run_code(code, self.limits, packages=self.packages)
        return result.to_dict()
