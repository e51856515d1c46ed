"""A throwaway PostgreSQL with pgvector for the tests, and the backend crashes its log records.

It is the machine's Debian PostgreSQL with a pgvector the Makefile builds for baseline x86-64: prebuilt pgvector
binaries are compiled for their build host's CPU and die with SIGILL elsewhere. A backend that dies of a signal
takes the statement with it and the client sees only a closed connection, so the log's crash line is what names it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORT = 5432  # on a Unix socket in the server's own folder only, so no other server's port is in the way
# Trusted local logins as postgres; UTF-8 for the tests' non-ASCII metadata; no fsync: the data is thrown away.
INITDB = ("-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
# No TCP, no fsync (the data is thrown away), and log lines in English for crashes() to read.
SETTINGS = ("-c", "listen_addresses=", "-c", "fsync=off", "-c", "lc_messages=C")
SIMD_FLAGS = ("sse4_2", "popcnt", "avx", "f16c", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni")


class PostgresServer:
    """A server in a folder of its own, owned by ``postgres`` when run as root (PostgreSQL refuses root)."""

    def __init__(self) -> None:
        if not (PG_BIN / "postgres").exists():
            raise RuntimeError(f"no PostgreSQL in {PG_BIN}: run `make setup`, which installs it with pgvector")
        self.folder = Path(tempfile.mkdtemp(prefix="plait-pg-"))
        self.log = self.folder / "postgres.log"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            shutil.chown(self.folder, self._user, self._user)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.folder}&port={PORT}"

    def start(self, timeout: float = 60.0) -> None:
        data = self.folder / "data"
        with self.log.open("ab") as log:
            self._run([str(PG_BIN / "initdb"), "-D", str(data), *INITDB], log)
            self._process = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(data), "-k", str(self.folder), "-p", str(PORT), *SETTINGS],
                stdout=log,
                stderr=log,
                user=self._user,
                group=self._user,
                extra_groups=[] if self._user else None,
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log_tail = self.log.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"PostgreSQL did not start:\n{log_tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        """A fast shutdown (SIGINT), then the folder goes."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def crashes(self, since: int = 0) -> list[str]:
        """The log's lines about backends killed by a signal after byte ``since``, each with the statement it ran."""
        with self.log.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        found = []
        for i, line in enumerate(lines):
            if "terminated by signal" in line:
                detail = lines[i + 1].strip() if i + 1 < len(lines) and "Failed process" in lines[i + 1] else ""
                found.append(f"{line.strip()} {detail}".strip())
        return found

    def _ready(self) -> bool:
        command = [str(PG_BIN / "pg_isready"), "-q", "-h", str(self.folder), "-p", str(PORT), "-U", "postgres"]
        return subprocess.run(command, check=False).returncode == 0

    def _run(self, command: list[str], log: IO[bytes]) -> None:
        groups = [] if self._user else None
        subprocess.run(
            command, check=True, stdout=log, stderr=log, user=self._user, group=self._user, extra_groups=groups
        )


def cpu_flags() -> str:
    """Which SIMD extensions this CPU has and lacks: a SIGILL means code compiled for ones it lacks."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "CPU flags unknown"
    flags = next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")), set())
    has = [flag for flag in SIMD_FLAGS if flag in flags]
    lacks = [flag for flag in SIMD_FLAGS if flag not in flags]
    return f"this CPU has {' '.join(has) or 'none of them'}; lacks {' '.join(lacks) or 'none of them'}"


def crash_report(crashes: list[str]) -> str:
    return (
        f"PostgreSQL backend crashed ({len(crashes)}x): "
        + " | ".join(crashes)
        + f". Signal 4 (Illegal instruction) means the server or pgvector uses an instruction {cpu_flags()}."
        " The Makefile builds pgvector for baseline x86-64; check that `make setup` installed that build."
    )
