"""The platform's settings: one object read from ``PLAIT_*`` environment variables and an optional YAML file.

Precedence, highest first: arguments, environment, YAML file (``config_file`` argument or ``PLAIT_CONFIG``),
defaults. Everything is validated when the object is built, so a bad value stops the server at start with a
message naming the setting, instead of failing on the first request that needs it.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from plait.datadir import private_dir

DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SECRET_KEY_FILE = "secret.key"


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the setting (or YAML key) at fault."""


class _YamlSource(PydanticBaseSettingsSource):
    """Values from the YAML file named by the ``config_file`` argument or ``PLAIT_CONFIG``."""

    def __init__(self, settings_cls: type[BaseSettings], init: InitSettingsSource) -> None:
        super().__init__(settings_cls)
        self._path = init.init_kwargs.get("config_file") or os.environ.get("PLAIT_CONFIG")

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        if not self._path:
            return {}
        path = Path(self._path).expanduser()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"config file {path}: cannot read it ({exc.strerror or exc})") from exc
        except yaml.YAMLError as exc:
            raise SettingsError(f"config file {path}: not valid YAML ({exc})") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise SettingsError(f"config file {path}: expected a mapping of settings, got {type(data).__name__}")
        known = set(self.settings_cls.model_fields) - {"config_file"}
        for key in data:
            if key not in known:
                raise SettingsError(f"config file {path}: unknown key {key!r} (known keys: {', '.join(sorted(known))})")
        return data


class Settings(BaseSettings):
    """Everything the server, workers and CLI need to start."""

    model_config = SettingsConfigDict(env_prefix="PLAIT_", extra="forbid", validate_default=True)

    config_file: Path | None = Field(default=None, exclude=True)
    data_dir: Path = Path("~/.plait")
    database_url: str = ""  # empty: a SQLite file in the data dir
    # PostgreSQL connections a server or worker process opens at most and keeps (docs/deploy.md sizes it).
    database_pool_size: int = Field(default=30, ge=1)
    # How long a request waits for one of them before it answers 503 / 5003 (the process is past its share).
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    redis_url: str | None = None  # set: run events, cancels, rate limits and jobs go through Redis (docs/deploy.md)
    redis_prefix: str = Field(default="plait", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")  # of every Redis key
    # With Redis: a job (an ingestion, an async workflow run) whose worker stopped renewing it for this long is
    # taken again by another worker.
    job_lease_seconds: float = Field(default=30.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    secret_key: SecretStr | None = None  # None: generated once into <data_dir>/secret.key
    # Keys that only decrypt: what secrets stored before a rotation were encrypted with (docs/operations.md).
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = []
    cors_origins: Annotated[list[str], NoDecode] = []  # browser origins allowed to call the API; empty: CORS off
    secure_headers: bool = True  # nosniff, frame DENY, no-referrer, no-store on every response
    behind_https: bool = False  # clients reach the server over HTTPS (directly or via a proxy): also send HSTS
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    default_model: str = "local/gemma3-270m"  # the model of the assistant a first start creates
    auth_cache_seconds: float = Field(default=5.0, ge=0)  # how long a worker trusts a key it checked
    chat_wait_seconds: float = Field(default=30.0, ge=0)  # a non-streamed chat answers when done or after this
    # Requests per second (sustained) and burst, per API key and per workspace, in each worker; 0: no limit.
    # Generous: one key can saturate a worker with chat turns without a 429 (docs/guard.md).
    rate_limit_key_per_second: float = Field(default=200.0, ge=0)
    rate_limit_key_burst: int = Field(default=2_000, ge=1)
    rate_limit_workspace_per_second: float = Field(default=500.0, ge=0)
    rate_limit_workspace_burst: int = Field(default=5_000, ge=1)
    chat_timeout_seconds: float = Field(default=600.0, gt=0)  # a chat run still going after this fails
    heartbeat_seconds: float = Field(default=5.0, gt=0)  # how often a worker says it lives
    worker_stale_seconds: float = Field(default=60.0, gt=0)  # a worker silent this long is dead: its chats fail
    session_idle_seconds: float = Field(default=1800.0, gt=0)  # a user's session with a bot, without chats
    session_expire_seconds: float = Field(default=7 * 86400.0, gt=0)  # then deleted (docs/agents.md, Memory)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["console", "json"] = "console"  # json: one object a line (docs/operations.md)
    tracing: bool = False  # OpenTelemetry spans over OTLP; OTEL_TRACES_EXPORTER=otlp turns it on too
    # USD per million (input, output) tokens by model id, over the built-in table, for plait_model_cost_usd.
    model_prices: dict[str, tuple[float, float]] = {}
    # The embedder of new datasets (each keeps the one it was created with). "hashing" needs no model: tests.
    embedder: Literal["local/all-minilm-l6-v2", "hashing"] = "local/all-minilm-l6-v2"
    # Datasets: caps that keep one upload from filling a worker's memory or the database (a document over a cap
    # fails with the reason), and how long a worker keeps a dataset's index in memory unused.
    dataset_max_document_rows: int = Field(default=50_000, ge=1)  # records: CSV/JSON rows, pages
    dataset_max_document_chunks: int = Field(default=50_000, ge=1)
    dataset_max_chunks: int = Field(default=200_000, ge=1)  # of all the done documents of one dataset
    dataset_idle_seconds: float = Field(default=600.0, gt=0)
    # Networks a web_url document may be fetched from, e.g. 10.1.0.0/16,127.0.0.1/32; empty: web_url is off.
    web_url_allowed_networks: Annotated[list[str], NoDecode] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(init_settings, InitSettingsSource)
        return init_settings, env_settings, _YamlSource(settings_cls, init_settings)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("cors_origins", "web_url_allowed_networks", "previous_secret_keys", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """``PLAIT_CORS_ORIGINS=https://a,https://b`` reads as a list, as people write it in env files."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("web_url_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network (CIDR such as 10.0.0.0/8, or one address)") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if not value:
            return value
        scheme = value.partition("://")[0]
        if scheme in ("postgresql", "postgres"):  # the usual DATABASE_URL spelling; we always drive asyncpg
            return "postgresql+asyncpg" + value[len(scheme) :]
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(f"unsupported scheme {scheme!r}; use one of {', '.join(DATABASE_SCHEMES)}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.partition("://")[0] not in REDIS_SCHEMES:
            raise ValueError(f"unsupported scheme {value.partition('://')[0]!r}; use one of {', '.join(REDIS_SCHEMES)}")
        return value

    @field_validator("secret_key", "previous_secret_keys")
    @classmethod
    def _secret_key_format(cls, value: SecretStr | list[SecretStr] | None) -> SecretStr | list[SecretStr] | None:
        for key in value if isinstance(value, list) else [value]:
            if key is not None and len(_decode_key(key.get_secret_value())) != 32:
                raise ValueError("expected 32 random bytes, url-safe base64 encoded (44 characters)")
        return value

    @model_validator(mode="after")
    def _derived(self) -> Settings:
        try:  # owner-only before anything (database, key, uploads) is written into it
            private_dir(self.data_dir)
        except OSError as exc:
            raise SettingsError(f"data_dir {self.data_dir}: cannot create it ({exc.strerror or exc})") from None
        if self.session_expire_seconds <= self.session_idle_seconds:
            raise SettingsError("session_expire_seconds: must be longer than session_idle_seconds")
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'plait.db'}"
        if self.secret_key is None:
            primary, *previous = stored_secret_keys(self.data_dir / SECRET_KEY_FILE)
            self.secret_key = SecretStr(primary)
            self.previous_secret_keys = [*self.previous_secret_keys, *map(SecretStr, previous)]
        return self

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """Build the settings, turning validation errors into one `SettingsError` with a line per setting."""
        try:
            return cls(config_file=Path(config_file) if config_file else None, **overrides)
        except ValidationError as exc:
            lines = [f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()]
            raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None

    def aes_keys(self) -> list[bytes]:
        """The 32-byte AES-GCM keys of secrets at rest: the first encrypts, every one decrypts."""
        assert self.secret_key is not None  # set by _derived
        return [_decode_key(key.get_secret_value()) for key in (self.secret_key, *self.previous_secret_keys)]

    @property
    def secret_key_file(self) -> Path | None:
        """The key file the keys come from; None when the configuration sets the key."""
        path = self.data_dir / SECRET_KEY_FILE
        return path if path.exists() and self.secret_key == SecretStr(stored_secret_keys(path)[0]) else None


def _decode_key(raw: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(raw.encode())
    except ValueError:
        return b""


def stored_secret_keys(path: Path) -> list[str]:
    """The keys in ``<data_dir>/secret.key``, one a line, the first the one that encrypts; the file is created
    once (mode 0600) so restarts can decrypt what was stored. A file that holds no valid key stops the start
    here, naming the file, not at the first decryption."""
    if not path.exists():
        _create_secret_key(path)
    try:
        keys = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeError) as exc:
        raise SettingsError(f"secret key file {path}: cannot read it ({exc})") from None
    if not keys or any(len(_decode_key(key)) != 32 for key in keys):
        raise SettingsError(
            f"secret key file {path}: not a key (it must hold 32 random bytes, url-safe base64 encoded: 44 "
            "characters); restore it from a backup, or delete it to have a new one made (provider keys stored "
            "with the old one must then be set again)"
        )
    return keys


def new_secret_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def write_secret_keys(path: Path, keys: list[str]) -> None:
    """Replace the key file whole (written 0600 and synced under a temporary name, then renamed): a crash
    leaves the old file or the new one, never half of one."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{SECRET_KEY_FILE}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{key}\n" for key in keys))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _create_secret_key(path: Path) -> None:
    """Written whole under a temporary name (0600), then linked into place: a process starting at the same
    moment reads a complete key, never a half-written one, and the first link made is the key of both."""
    private_dir(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{SECRET_KEY_FILE}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new_secret_key() + "\n")
        with contextlib.suppress(FileExistsError):  # another process linked its key first: that one counts
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
