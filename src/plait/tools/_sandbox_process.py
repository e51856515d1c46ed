"""One sandboxed child run to its end: fed, read with a cap, bounded by a deadline, and nothing left behind.

A child's descendants may keep its pipes open after it exits, so the exit is taken from the process itself,
not from the pipes closing; then everything it started is killed before the output is collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_READ_CHUNK = 65_536
_GRACE = 1.0
_SWEEP = "import os, signal; os.kill(-1, signal.SIGKILL)"


class StartError(Exception):
    """The child could not be started."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How the child ended: ``returncode`` is negative for a signal, as in ``subprocess``."""

    returncode: int
    stdout: bytes
    stderr: bytes
    truncated: bool
    timed_out: bool
    status: dict[str, Any]
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Child:
    """What to start: ``command`` gets the descriptor the child reports on; ``sweeper`` kills by user id."""

    command: Callable[[int], Sequence[str]]
    stdin: bytes
    cwd: Path
    env: Mapping[str, str]
    output_cap: int
    wall_seconds: float
    sweeper: tuple[str, int] | None = None


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the child exits, even while something it left behind still holds its pipes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_READ_CHUNK, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


class _Capture:
    """Keeps at most ``cap`` bytes of a stream as they come; past that it stops and sets ``overflow``."""

    def __init__(self, stream: asyncio.StreamReader | None, cap: int, overflow: asyncio.Event) -> None:
        self.stream, self.cap, self.overflow = stream, cap, overflow
        self.kept = bytearray()
        self.truncated = False

    async def pump(self) -> None:
        while self.stream is not None and (chunk := await self.stream.read(_READ_CHUNK)):
            room = self.cap - len(self.kept)
            self.kept += chunk[:room]
            if len(chunk) > room:
                self.truncated = True
                self.overflow.set()
                return


async def run_child(child: Child) -> Outcome:
    """Run the child; whatever happens, including cancellation, it and its descendants are dead on return."""
    loop = asyncio.get_running_loop()
    status_read, status_write = os.pipe()
    started = time.monotonic()
    try:
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(loop),
                *child.command(status_write),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=child.cwd,
                env=dict(child.env),
                start_new_session=True,
                pass_fds=(status_write,),
            )
        except OSError as exc:
            raise StartError(f"could not start the sandbox: {exc}") from exc
        finally:
            os.close(status_write)
        overflow = asyncio.Event()
        captures = [_Capture(stream, child.output_cap, overflow) for stream in (protocol.stdout, protocol.stderr)]
        pumps = [asyncio.create_task(capture.pump()) for capture in captures]
        feeder = asyncio.create_task(_feed(protocol.stdin, child.stdin))
        try:
            timed_out = await _until_exit(protocol.exited, overflow, child.wall_seconds)
        finally:
            await asyncio.shield(_kill_everything(transport.get_pid(), child.sweeper))
            await _settle(protocol.exited, [*pumps, feeder])
            transport.close()
        returncode = transport.get_returncode()
        return Outcome(
            returncode=-signal.SIGKILL if returncode is None else returncode,
            stdout=bytes(captures[0].kept),
            stderr=bytes(captures[1].kept),
            truncated=any(capture.truncated for capture in captures),
            timed_out=timed_out,
            status=_read_status(status_read),
            duration=time.monotonic() - started,
        )
    finally:
        os.close(status_read)


async def _until_exit(exited: asyncio.Event, overflow: asyncio.Event, wall_seconds: float) -> bool:
    """Wait for the exit or an output overflow; True when the deadline came first."""
    waits = {asyncio.create_task(exited.wait()), asyncio.create_task(overflow.wait())}
    try:
        done, _ = await asyncio.wait(waits, timeout=wall_seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return not done


async def _settle(exited: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Let the readers take what is left in the pipes and the child be reaped, each within a grace period."""
    await asyncio.wait(tasks, timeout=_GRACE)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(exited.wait(), _GRACE)


async def _feed(stdin: asyncio.StreamWriter | None, data: bytes) -> None:
    """Send the input; a child that died before reading it is reported by its exit, not here."""
    if stdin is None:
        return
    try:
        stdin.write(data)
        await stdin.drain()
        stdin.close()
        await stdin.wait_closed()
    except (BrokenPipeError, ConnectionResetError):
        pass


async def _kill_everything(pid: int, sweeper: tuple[str, int] | None) -> None:
    """Kill the child's process group and, given a user id of its own, every process of that user id.

    The sweep is a process of that user calling ``kill(-1)``, which reaches even processes that left the group.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if sweeper is None:
        return
    python, uid = sweeper
    process = await asyncio.create_subprocess_exec(
        *(python, "-I", "-S", "-c", _SWEEP),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        user=uid,
        group=uid,
        extra_groups=[],
    )
    await process.wait()


def _read_status(fd: int) -> dict[str, Any]:
    """The child's reports merged into one dict; lines that are not JSON objects are skipped."""
    os.set_blocking(fd, False)
    data = bytearray()
    try:
        while chunk := os.read(fd, _READ_CHUNK):
            data += chunk
    except BlockingIOError:
        pass
    status: dict[str, Any] = {}
    for line in data.decode(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            status.update(entry)
    return status
