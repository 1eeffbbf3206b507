"""Settings: typed at start-up, placeholder secrets refused outside development."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from leadloop_feedback.config import Settings as FeedbackSettings
from leadloop_intake.config import Settings as IntakeSettings
from leadloop_platform.settings import CommonSettings, to_asyncpg_url


@pytest.mark.parametrize("env", ["test", "production"])
@pytest.mark.parametrize("key", ["changeme", "dev-key", "short-key"])
def test_placeholder_keys_are_refused_outside_development(env: str, key: str) -> None:
    with pytest.raises(ValidationError, match="LEADLOOP_BOOTSTRAP_API_KEY"):
        CommonSettings(env=env, bootstrap_api_key=key)  # type: ignore[arg-type]


# The k8s manifest's own placeholder, the red team's keys, the README's and compose's example
# values, and keys of little entropy.
WEAK_KEYS = [
    "change-me-to-a-random-key-of-24-or-more-characters",
    "aaaaaaaaaaaaaaaaaaaaaaaa",
    "changemechangemechangeme",
    "a-random-key-of-24-characters-or-more",
    "CHANGE_ME_please_0123456789abcdef",
    "0123456701234567012345670123",
    "abcabcabcabcabcabcabcabcabc",
    "my-placeholder-api-key-for-production",
    "an-example-key-with-enough-characters",
    "super-secret-key-nobody-will-ever-guess",
]


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_placeholder_and_low_entropy_keys_are_refused_in_production(key: str) -> None:
    with pytest.raises(ValidationError, match="LEADLOOP_BOOTSTRAP_API_KEY"):
        CommonSettings(env="production", bootstrap_api_key=key)  # type: ignore[arg-type]


def test_a_generated_key_and_the_test_suites_key_start() -> None:
    generated = secrets.token_hex(24)
    assert CommonSettings(env="production", bootstrap_api_key=generated).bootstrap_api_key
    suite = "llk_test_bootstrap_key_with_every_scope_0001"
    assert CommonSettings(env="test", bootstrap_api_key=suite).bootstrap_api_key


def test_development_accepts_a_short_key() -> None:
    assert CommonSettings(env="development", bootstrap_api_key="dev-key").bootstrap_api_key


@pytest.mark.parametrize("settings_class", [IntakeSettings, FeedbackSettings])
@pytest.mark.parametrize("value", ["", "   ", "whsec_", "changeme", "<placeholder>"])
def test_an_empty_or_placeholder_secret_is_not_configured(
    settings_class: type[CommonSettings], value: str
) -> None:
    field = "hubspot_client_secret" if settings_class is IntakeSettings else "crm_webhook_secret"
    settings = settings_class(env="test", **{field: value})
    assert getattr(settings, field) is None
    refused = f"LEADLOOP_{field.upper()} is empty or a placeholder"
    with pytest.raises(ValidationError, match=refused):
        settings_class(env="production", **{field: value})


def test_secrets_from_the_environment_are_refused_blank_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADLOOP_ENV", "production")
    monkeypatch.setenv("LEADLOOP_BOOTSTRAP_API_KEY", secrets.token_hex(24))
    monkeypatch.setenv("LEADLOOP_CRM_WEBHOOK_SECRET", "")
    with pytest.raises(ValidationError, match="LEADLOOP_CRM_WEBHOOK_SECRET"):
        FeedbackSettings()
    monkeypatch.delenv("LEADLOOP_CRM_WEBHOOK_SECRET")
    assert FeedbackSettings().crm_webhook_secret is None  # unset: the endpoint answers 503
    monkeypatch.setenv("LEADLOOP_BOOTSTRAP_API_KEY", "")
    with pytest.raises(ValidationError, match="LEADLOOP_BOOTSTRAP_API_KEY"):
        IntakeSettings()


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
