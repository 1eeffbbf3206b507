"""The one settings pattern every service follows: typed environment variables, checked at start."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "dev-key", "none", "null", "todo", "xxx"}
)
# Words no generated key contains; a value holding one was typed from a template.
PLACEHOLDER_WORDS = ("changeme", "placeholder", "example", "replaceme", "randomkey", "yourkey")
MIN_KEY_LENGTH = 24
MIN_DISTINCT_CHARACTERS = 8


def _letters(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def is_placeholder(value: str) -> bool:
    """Whether a secret is blank or a value copied from a template, never a real secret."""
    bare = value.strip().lower().removeprefix("whsec_")
    letters = _letters(bare)
    if bare in PLACEHOLDER_SECRETS or not letters:
        return True
    return any(word in letters for word in PLACEHOLDER_WORDS)


def key_weakness(value: str) -> str | None:
    """Why an API key is too weak to guard production (None when it is not): a placeholder,
    too short, too few distinct characters, or one short pattern repeated."""
    if is_placeholder(value) or "secret" in _letters(value):
        return "is a placeholder"
    if len(value) < MIN_KEY_LENGTH:
        return f"is shorter than {MIN_KEY_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if any(value[p:] == value[:-p] for p in range(1, len(value) // 2 + 1)):
        return "repeats a short pattern"
    return None


def _refuse_in_production(info: ValidationInfo) -> None:
    if info.data.get("env") == "production":
        name = f"LEADLOOP_{(info.field_name or 'secret').upper()}"
        raise ValueError(
            f"{name} is empty or a placeholder; set a real secret or leave it unset "
            "(refused in production)"
        )


def _optional_secret(value: Any, info: ValidationInfo) -> Any:
    """Blank and placeholder secrets mean "not configured" (None); production refuses them,
    so a template value never silently turns an endpoint off or, worse, on."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str) or not is_placeholder(raw):
        return value
    _refuse_in_production(info)
    return None


def _blank_key(value: Any, info: ValidationInfo) -> Any:
    """A blank key is no key (refused in production); other weak keys meet the model check."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str) or raw.strip():
        return value
    _refuse_in_production(info)
    return None


# Every optional secret setting uses this type: "" or a placeholder is None, never a key.
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_optional_secret)]
BootstrapKey = Annotated[SecretStr | None, BeforeValidator(_blank_key)]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/leadloop"


def _idempotence_choice(value: Any) -> Any:
    """auto, true or false; the boolean spellings the setting took before (1/0, yes/no, on/off,
    booleans) still mean true and false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        word = value.strip().lower()
        return {
            "1": "true",
            "yes": "true",
            "on": "true",
            "0": "false",
            "no": "false",
            "off": "false",
        }.get(word, word)
    return value


# LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE: auto detects the broker's support at producer start.
IdempotenceChoice = Annotated[
    Literal["auto", "true", "false"], BeforeValidator(_idempotence_choice)
]


def service_database_url(service: str) -> Any:
    """A service's `database_url` field: LEADLOOP_<SERVICE>_DATABASE_URL, else the shared one."""
    return Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices(
            f"LEADLOOP_{service.upper()}_DATABASE_URL", "LEADLOOP_DATABASE_URL", "DATABASE_URL"
        ),
    )


class CommonSettings(BaseSettings):
    """Settings shared by all four services; each service subclasses it in its `config.py`."""

    model_config = SettingsConfigDict(
        env_prefix="LEADLOOP_", extra="ignore", frozen=True, populate_by_name=True
    )

    service_name: str = "leadloop"
    env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("LEADLOOP_DATABASE_URL", "DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "LEADLOOP_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    kafka_enable_idempotence: IdempotenceChoice = "auto"
    kafka_fetch_max_wait_ms: int = Field(default=10, ge=1, le=10_000)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    # Broker authentication: production brokers must require it (README, Security); PLAINTEXT
    # in production is logged as a WARNING at start.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = (
        "PLAINTEXT"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    topic_prefix: str = ""
    bootstrap_api_key: BootstrapKey = None
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
    # Off for a replica that only serves HTTP while another one relays its schema's outbox.
    run_relay: bool = True

    @model_validator(mode="after")
    def _refuse_weak_bootstrap_key(self) -> CommonSettings:
        key = self.bootstrap_api_key
        if self.env != "development" and key is not None:
            weakness = key_weakness(key.get_secret_value())
            if weakness is not None:
                raise ValueError(
                    f"LEADLOOP_BOOTSTRAP_API_KEY {weakness}; refused outside development: "
                    "generate one, e.g. `openssl rand -hex 24`"
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
