"""Settings: env, YAML, precedence, the generated secret key and every validation error."""

from __future__ import annotations

import base64
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from plait.datadir import data_dir
from plait.settings import Settings, SettingsError
from plait.store import upgrade


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PLAIT_* from the machine leaks in; the data dir is a temp folder."""
    for name in list(os.environ):
        if name.startswith("PLAIT_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    monkeypatch.setenv("PLAIT_DATA_DIR", str(data))
    return data


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plait.yaml"
    path.write_text(text)
    return path


def test_defaults_put_sqlite_and_the_secret_key_in_the_data_dir(clean_env: Path) -> None:
    settings = Settings.load()
    assert settings.data_dir == clean_env
    assert settings.database_url == f"sqlite+aiosqlite:///{clean_env / 'plait.db'}"
    assert (settings.host, settings.port, settings.workers, settings.log_level) == ("127.0.0.1", 8000, 1, "INFO")
    assert settings.redis_url is None
    assert (settings.database_pool_size, settings.database_pool_timeout_seconds) == (30, 30.0)
    key_file = clean_env / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(settings.aes_keys()[0]) == 32
    assert Settings.load().aes_keys()[0] == settings.aes_keys()[0]  # generated once, then reused


def test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DATABASE_URL", "postgresql+asyncpg://u@db:5432/plait")
    monkeypatch.setenv("PLAIT_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("PLAIT_PORT", "9000")
    monkeypatch.setenv("PLAIT_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("PLAIT_LOG_LEVEL", "debug")
    monkeypatch.setenv("PLAIT_DATABASE_POOL_SIZE", "12")
    settings = Settings.load()
    assert settings.database_url == "postgresql+asyncpg://u@db:5432/plait"
    assert settings.database_pool_size == 12
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.port == 9000
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"


def test_plain_postgresql_url_is_driven_by_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DATABASE_URL", "postgresql://u@db/plait")
    assert Settings.load().database_url == "postgresql+asyncpg://u@db/plait"


def test_yaml_file_from_argument_and_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _yaml(tmp_path, "port: 7000\nworkers: 4\ncors_origins: [https://x.example]\n")
    settings = Settings.load(path)
    assert (settings.port, settings.workers, settings.cors_origins) == (7000, 4, ["https://x.example"])
    monkeypatch.setenv("PLAIT_CONFIG", str(path))
    assert Settings.load().workers == 4


def test_env_wins_over_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _yaml(tmp_path, "port: 7000\nhost: 0.0.0.0\n")
    monkeypatch.setenv("PLAIT_PORT", "7100")
    settings = Settings.load(path)
    assert (settings.port, settings.host) == (7100, "0.0.0.0")


def test_given_secret_key_is_used(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    key = base64.urlsafe_b64encode(b"k" * 32).decode()
    monkeypatch.setenv("PLAIT_SECRET_KEY", key)
    assert Settings.load().aes_keys()[0] == b"k" * 32
    assert not (clean_env / "secret.key").exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PLAIT_DATABASE_URL", "mysql://db/plait", "database_url: Value error, unsupported scheme 'mysql'"),
        ("PLAIT_REDIS_URL", "http://cache", "redis_url: Value error, unsupported scheme 'http'"),
        ("PLAIT_PORT", "70000", "port: Input should be less than or equal to 65535"),
        ("PLAIT_PORT", "0", "port: Input should be greater than or equal to 1"),
        ("PLAIT_WORKERS", "0", "workers: Input should be greater than or equal to 1"),
        ("PLAIT_DATABASE_POOL_SIZE", "0", "database_pool_size: Input should be greater than or equal to 1"),
        ("PLAIT_DATABASE_POOL_TIMEOUT_SECONDS", "0", "database_pool_timeout_seconds: Input should be greater than 0"),
        ("PLAIT_MAX_BODY_BYTES", "-1", "max_body_bytes: Input should be greater than 0"),
        ("PLAIT_LOG_LEVEL", "chatty", "log_level: Input should be"),
        ("PLAIT_SECRET_KEY", "short", "secret_key: Value error, expected 32 random bytes"),
    ],
)
def test_invalid_env_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="invalid settings") as error:
        Settings.load()
    assert message in str(error.value)


def test_unknown_yaml_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="unknown key 'prot'"):
        Settings.load(_yaml(tmp_path, "prot: 8000\n"))


def test_unreadable_or_malformed_yaml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read it"):
        Settings.load(tmp_path / "missing.yaml")
    with pytest.raises(SettingsError, match="not valid YAML"):
        Settings.load(_yaml(tmp_path, "port: [8000\n"))
    with pytest.raises(SettingsError, match="expected a mapping"):
        Settings.load(_yaml(tmp_path, "- port\n"))


def test_yaml_values_are_validated_too(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="port: Input should be less than or equal to 65535"):
        Settings.load(_yaml(tmp_path, "port: 99999\n"))


# --- the data dir's files are private ---------------------------------------------------------------------------


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """022, as most systems have it: what made the data dir 0755 and the database 0644 before."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_database_and_key_are_owner_only(clean_env: Path, usual_umask: None) -> None:
    settings = Settings.load()
    assert _mode(clean_env) == 0o700 and _mode(clean_env / "secret.key") == 0o600
    upgrade(settings.database_url)
    database = clean_env / "plait.db"
    assert _mode(database) == 0o600
    connection = sqlite3.connect(database)  # in WAL mode, as the server runs: -wal and -shm beside the file
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    assert {p.name: _mode(p) for p in clean_env.glob("plait.db-*")} == {"plait.db-wal": 0o600, "plait.db-shm": 0o600}
    connection.close()
    assert sorted(p.name for p in clean_env.iterdir()) == ["plait.db", "secret.key"]  # no temporary file left


def test_a_sqlite_file_elsewhere_gets_a_private_folder(tmp_path: Path, usual_umask: None) -> None:
    database = tmp_path / "db" / "plait.db"
    upgrade(f"sqlite+aiosqlite:///{database}")
    assert _mode(database.parent) == 0o700 and _mode(database) == 0o600


def test_the_framework_data_dir_is_owner_only(clean_env: Path, usual_umask: None) -> None:
    assert data_dir("models") == clean_env / "models"
    assert _mode(clean_env) == 0o700


# --- a secret.key that holds no key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "not a key"),
        (b"  \n\n", "not a key"),
        (b"not base64 at all", "not a key"),
        (base64.urlsafe_b64encode(b"k" * 16) + b"\n", "not a key"),  # a valid key, of the wrong length
        (base64.urlsafe_b64encode(b"k" * 32)[:-3] + b"\n", "not a key"),  # cut short
        (b"\xff\xfe\x00\x01", "cannot read it"),
    ],
    ids=["empty", "whitespace", "not-base64", "16-bytes", "truncated", "binary"],
)
def test_a_bad_secret_key_file_is_a_settings_error(clean_env: Path, content: bytes, problem: str) -> None:
    clean_env.mkdir()
    (clean_env / "secret.key").write_bytes(content)
    with pytest.raises(SettingsError, match=f"secret key file {re.escape(str(clean_env / 'secret.key'))}: {problem}"):
        Settings.load()
    assert (clean_env / "secret.key").read_bytes() == content  # never replaced: it may be restored


def test_processes_starting_together_share_one_key(clean_env: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: Settings.load().aes_keys()[0], range(16)))
    assert len(keys) == 1
    assert sorted(p.name for p in clean_env.iterdir()) == ["secret.key"]
