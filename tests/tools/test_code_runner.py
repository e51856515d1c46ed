"""The code runner: real child interpreters under real limits, on this machine's kernel."""

from __future__ import annotations

import asyncio
import os
import sysconfig
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plait.components import Tool
from plait.tools._sandbox_identity import sandbox_uid
from plait.tools.code_runner import CodeRunner, Limit, Limits, SandboxError, run_code
from plait.tools.errors import InvalidArguments

QUICK = Limits(cpu_seconds=2, wall_seconds=5)
SITE = list(dict.fromkeys(sysconfig.get_path(key) for key in ("purelib", "platlib")))
OWN_USER = sandbox_uid(SITE)[1] is not None
# docs/tools.md: only with a user id of its own is the child's user swept with kill(-1) and its writes confined
needs_own_user = pytest.mark.skipif(
    not OWN_USER, reason="the child runs as the parent's user here (not root, or no readable Python)"
)


def src(code: str) -> str:
    return textwrap.dedent(code).strip() + "\n"


async def test_normal_code_prints_and_exits_zero() -> None:
    result = await run_code("print(sum(range(10)))", QUICK)
    assert (result.stdout, result.stderr, result.exit_code, result.limit) == ("45\n", "", 0, None)
    assert result.ok and result.duration < 5


async def test_an_exception_gives_its_traceback_with_the_code_line() -> None:
    result = await run_code(src("x = 1\nprint('before')\nx / 0"), QUICK)
    assert result.exit_code == 1 and not result.ok and result.limit is None
    assert result.stdout == "before\n"
    assert 'File "<sandbox>", line 3' in result.stderr
    assert "x / 0" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "_sandbox_child" not in result.stderr


async def test_exit_codes_and_syntax_errors_come_back() -> None:
    assert (await run_code("import sys; sys.exit(3)", QUICK)).exit_code == 3
    broken = await run_code("def (:", QUICK)
    assert broken.exit_code == 1 and "SyntaxError" in broken.stderr


async def test_a_busy_loop_ends_on_the_cpu_limit() -> None:
    result = await run_code("while True: pass", Limits(cpu_seconds=1, wall_seconds=10))
    assert result.cpu_exceeded and result.limit is Limit.CPU
    assert result.signal == "SIGXCPU" and result.exit_code is None
    assert result.duration < 5


async def test_a_sleeping_program_ends_on_the_wall_clock_with_its_output_so_far() -> None:
    started = time.monotonic()
    result = await run_code("import time\nprint('started')\ntime.sleep(60)", Limits(wall_seconds=1))
    assert result.timed_out and result.signal == "SIGKILL"
    assert result.stdout == "started\n"
    assert time.monotonic() - started < 5


async def test_allocating_forever_ends_on_the_memory_limit() -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 1024 * 1024))"
    result = await run_code(code, Limits(memory_mb=128, wall_seconds=10))
    assert result.memory_exceeded and "MemoryError" in result.stderr


async def test_an_output_flood_is_cut_at_the_cap_and_stopped() -> None:
    result = await run_code("while True: print('x' * 1000)", Limits(output_bytes=10_000, wall_seconds=10))
    assert result.limit is Limit.OUTPUT and result.truncated
    assert len(result.stdout) == 10_000 and set(result.stdout) <= {"x", "\n"}
    assert result.duration < 5


async def test_writing_past_the_file_size_limit_is_reported() -> None:
    result = await run_code("open('big', 'wb').write(b'0' * 3 * 1024 * 1024)", Limits(file_mb=1))
    assert result.limit is Limit.FILE_SIZE and "File too large" in result.stderr


async def test_a_fork_bomb_ends_and_leaves_no_process_behind() -> None:
    code = src(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """
    )
    started = time.monotonic()
    result = await run_code(code, Limits(wall_seconds=2, processes=8))
    assert result.timed_out
    assert time.monotonic() - started < 8


@needs_own_user  # with the parent's user only the process group is killed (docs/tools.md)
async def test_a_process_that_left_the_group_is_killed_too() -> None:
    code = src(
        """
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            print(os.getpid(), flush=True)
            time.sleep(60)
        else:
            time.sleep(0.3)
        """
    )
    result = await run_code(code, QUICK)
    assert result.exit_code == 0 and result.duration < 4
    orphan = int(result.stdout.split()[0])
    await asyncio.sleep(0.2)
    assert not _is_sandbox(orphan)


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A server on a 127.0.0.1 port, and the connections it accepted."""
    accepted: list[int] = []

    async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], accepted


async def test_a_connection_to_a_listening_local_port_is_refused(listener: tuple[int, list[int]]) -> None:
    port, accepted = listener
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
    result = await run_code(code, QUICK)
    assert result.exit_code == 1 and "connected" not in result.stdout
    assert "network access is not allowed" in result.stderr
    assert accepted == []


async def test_native_code_past_the_audit_hook_meets_the_namespace(listener: tuple[int, list[int]]) -> None:
    """ctypes calls libc directly, so only the kernel layer can refuse this connection."""
    port, accepted = listener
    code = src(
        f"""
        import ctypes, struct
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.socket(2, 1, 0)
        address = struct.pack("=H", 2) + struct.pack("!H", {port}) + bytes([127, 0, 0, 1]) + bytes(8)
        print(fd, libc.connect(fd, address, len(address)), ctypes.get_errno())
        """
    )
    result = await run_code(code, QUICK)
    if "namespace" not in result.network:
        pytest.skip(f"no network namespace here ({result.network}): native code can reach the network")
    fd, connected, error = (int(part) for part in result.stdout.split())
    assert fd >= 0 and connected == -1 and error != 0
    assert accepted == []


async def test_files_land_in_a_temporary_folder_that_is_removed_after() -> None:
    code = "import os\nopen('notes.txt', 'w').write('hi')\nprint(os.getcwd())\nprint(sorted(os.listdir('.')))"
    result = await run_code(code, QUICK)
    workdir, listing = result.stdout.splitlines()
    assert listing == "['notes.txt']"
    assert Path(workdir).name.startswith("plait-code-") and _gone(workdir)


@needs_own_user
async def test_files_outside_the_folder_are_not_writable(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    result = await run_code(f"open({str(target)!r}, 'w').write('x')", QUICK)
    assert result.exit_code == 1 and "PermissionError" in result.stderr
    assert not target.exists()
    whoami = await run_code("import os; print(os.getuid())", QUICK)
    assert int(whoami.stdout) >= 100_000


async def test_the_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_TEST_SECRET", "do-not-leak")
    result = await run_code("import os; print(sorted(os.environ))", QUICK)
    assert "PLAIT_TEST_SECRET" not in result.stdout and "'HOME'" in result.stdout


async def test_numpy_is_importable_and_other_installed_packages_are_not() -> None:
    allowed = await run_code("import numpy as np; print(int(np.arange(5).sum()))", QUICK)
    assert allowed.stdout == "10\n", allowed.stderr
    refused = await run_code("import pydantic", QUICK)
    assert "ModuleNotFoundError" in refused.stderr


async def test_several_runs_at_once_stay_apart() -> None:
    code = "import os, time\nopen('mine', 'w').write('{0}')\ntime.sleep(0.5)\nprint(open('mine').read())"
    started = time.monotonic()
    results = await asyncio.gather(*(run_code(code.format(i), QUICK) for i in range(4)))
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(4)]
    assert time.monotonic() - started < 4 * 0.5 + 1.5


async def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(SandboxError, match="positive"):
        Limits(cpu_seconds=0)
    with pytest.raises(SandboxError, match="characters long"):
        await run_code("x = 1\n" * 10, Limits(code_chars=10))
    with pytest.raises(SandboxError, match="must be a string"):
        await run_code(b"print(1)", QUICK)  # type: ignore[arg-type]
    with pytest.raises(SandboxError, match="not installed"):
        await run_code("pass", QUICK, packages=["no_such_package_here"])


async def test_the_tool_runs_code_and_refuses_bad_arguments() -> None:
    runner = CodeRunner(QUICK)
    assert isinstance(runner, Tool) and runner.spec.name == "run_python"
    assert runner.spec.parameters["required"] == ["code"]
    output = await runner.call({"code": "print('from the tool')"})
    assert output["stdout"] == "from the tool\n" and output["exit_code"] == 0 and output["limit"] is None
    timed = await CodeRunner(Limits(wall_seconds=0.5)).call({"code": "import time; time.sleep(5)"})
    assert timed["limit"] == "timed_out"
    for bad in ({}, {"code": ""}, {"code": 42}):
        with pytest.raises(InvalidArguments, match="code"):
            await runner.call(bad)


async def test_a_cancelled_run_kills_its_child() -> None:
    code = "import os, time\nprint(os.getpid(), os.getcwd(), flush=True)\ntime.sleep(60)"
    task = asyncio.create_task(run_code(code, Limits(wall_seconds=30)))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    leftovers = [pid for pid in os.listdir("/proc") if pid.isdigit() and _is_sandbox(int(pid))]
    assert leftovers == []


def _is_sandbox(pid: int) -> bool:
    try:
        return b"_sandbox_child" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _gone(path: str) -> bool:
    return not os.path.exists(path)
