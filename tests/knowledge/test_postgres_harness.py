"""The test PostgreSQL reports a crashed backend as a crash: the log's line, the statement and the CPU's flags."""

from __future__ import annotations

import asyncio
import os
import signal

import asyncpg  # type: ignore[import-untyped]
import pytest
from postgres_harness import PostgresServer, crash_report


async def test_a_backend_killed_by_sigill_is_reported_with_its_statement_and_the_cpu_flags() -> None:
    server = PostgresServer()
    server.start()
    try:
        connection = await asyncpg.connect(server.uri)
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        statement = asyncio.ensure_future(connection.fetchval("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.5)
        os.kill(pid, signal.SIGILL)  # what an instruction the CPU lacks does to the backend
        with pytest.raises(asyncpg.ConnectionDoesNotExistError):
            await statement
        connection.terminate()
        for _ in range(100):  # the postmaster logs the death when it reaps the backend
            if crashes := server.crashes():
                break
            await asyncio.sleep(0.1)
        assert len(crashes) == 1
        assert f"(PID {pid}) was terminated by signal 4: Illegal instruction" in crashes[0]
        assert "Failed process was running: SELECT pg_sleep(30)" in crashes[0]
        report = crash_report(crashes)
        assert report.startswith("PostgreSQL backend crashed (1x): ")
        assert "avx512f" in report and "this CPU has " in report
        assert server.crashes(since=server.log_size()) == []
    finally:
        server.stop()
