"""Shared fixtures of the knowledge tests: a real PostgreSQL with pgvector, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres_harness import PostgresServer, crash_report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The machine's PostgreSQL with the pgvector the Makefile builds, in a temporary folder outside pytest's."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_uri(postgres_server: PostgresServer) -> Iterator[str]:
    """The server's URI; a backend the test crashed fails it with the log's crash line, not a closed connection."""
    since = postgres_server.log_size()
    yield postgres_server.uri
    crashes = postgres_server.crashes(since)
    if crashes:
        pytest.fail(crash_report(crashes), pytrace=False)
