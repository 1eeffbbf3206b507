"""The one settings pattern every service follows: typed environment variables, checked at start."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "dev-key"})


class CommonSettings(BaseSettings):
    """Settings shared by all four services; each service subclasses it in its `config.py`."""

    model_config = SettingsConfigDict(
        env_prefix="LEADLOOP_", extra="ignore", frozen=True, populate_by_name=True
    )

    service_name: str = "leadloop"
    env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/leadloop",
        validation_alias=AliasChoices("LEADLOOP_DATABASE_URL", "DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "LEADLOOP_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    kafka_enable_idempotence: bool = False
    kafka_fetch_max_wait_ms: int = Field(default=10, ge=1, le=10_000)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    topic_prefix: str = ""
    bootstrap_api_key: SecretStr | None = None
    # Well under the broker's record limit (1 MiB), so an accepted body always fits an event.
    max_body_bytes: int = Field(default=524_288, ge=1_024)
    log_level: str = "INFO"
    log_json: bool = True
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1)
    consumer_max_retries: int = Field(default=3, ge=0)
    consumer_retry_backoff_s: float = Field(default=0.2, ge=0)
    consumer_batch_size: int = Field(default=200, ge=1)
    # After a background task died: long enough for one Prometheus scrape to see the failure.
    task_failure_stop_delay_s: float = Field(default=20.0, ge=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> CommonSettings:
        key = self.bootstrap_api_key
        if self.env != "development" and key is not None:
            value = key.get_secret_value()
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < 24:
                raise ValueError(
                    "LEADLOOP_BOOTSTRAP_API_KEY is a placeholder or shorter than 24 characters; "
                    "refused outside development"
                )
        return self

    @property
    def async_database_url(self) -> str:
        """DATABASE_URL in the form SQLAlchemy's asyncpg dialect takes."""
        return to_asyncpg_url(self.database_url)

    def topic(self, name: str) -> str:
        """The physical topic name (tests isolate themselves with a prefix)."""
        return self.topic_prefix + name


def to_asyncpg_url(url: str) -> str:
    """Turn `postgresql://user:pw@host:port/db` into `postgresql+asyncpg://...`."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgresql", "postgres"}:
        raise ValueError(f"DATABASE_URL must start with postgresql://, got {parts.scheme}://")
    query = [("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))
