"""Settings: typed at start-up, placeholder secrets refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadloop_platform.settings import CommonSettings, to_asyncpg_url


@pytest.mark.parametrize("env", ["test", "production"])
@pytest.mark.parametrize("key", ["changeme", "dev-key", "short-key"])
def test_placeholder_keys_are_refused_outside_development(env: str, key: str) -> None:
    with pytest.raises(ValidationError, match="LEADLOOP_BOOTSTRAP_API_KEY"):
        CommonSettings(env=env, bootstrap_api_key=key)  # type: ignore[arg-type]


def test_development_accepts_a_short_key() -> None:
    assert CommonSettings(env="development", bootstrap_api_key="dev-key").bootstrap_api_key


def test_environment_variables_are_read_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/leads")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("LEADLOOP_CONSUMER_MAX_RETRIES", "7")
    settings = CommonSettings()
    assert settings.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert settings.consumer_max_retries == 7
    assert settings.async_database_url == "postgresql+asyncpg://u:p@db:5432/leads"
    monkeypatch.setenv("LEADLOOP_CONSUMER_MAX_RETRIES", "many")
    with pytest.raises(ValidationError, match="consumer_max_retries"):
        CommonSettings()


def test_database_urls_become_asyncpg_urls() -> None:
    assert to_asyncpg_url("postgres://a@h/db?sslmode=require") == (
        "postgresql+asyncpg://a@h/db?ssl=require"
    )
    assert to_asyncpg_url("postgresql://postgres:@/leadloop?host=/tmp/pg").endswith(
        "host=%2Ftmp%2Fpg"
    )
    with pytest.raises(ValueError, match="postgresql://"):
        to_asyncpg_url("mysql://a@h/db")
