"""The settings every service shares come from CommonSettings, declared once."""

from __future__ import annotations

import pytest

from leadloop_feedback.config import Settings as FeedbackSettings
from leadloop_intake.config import Settings as IntakeSettings
from leadloop_platform.settings import CommonSettings
from leadloop_routing.config import Settings as RoutingSettings
from leadloop_scoring.config import Settings as ScoringSettings

SERVICES: list[type[CommonSettings]] = [
    IntakeSettings,
    ScoringSettings,
    RoutingSettings,
    FeedbackSettings,
]


@pytest.mark.parametrize("settings_class", SERVICES)
def test_a_service_reads_its_own_database_url_before_the_shared_one(
    settings_class: type[CommonSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = settings_class().service_name
    for variable in (f"LEADLOOP_{name.upper()}_DATABASE_URL", "LEADLOOP_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://leadloop@db-shared/leadloop")
    assert settings_class().database_url == "postgresql://leadloop@db-shared/leadloop"
    monkeypatch.setenv(f"LEADLOOP_{name.upper()}_DATABASE_URL", f"postgresql://{name}@db/{name}")
    assert settings_class().database_url == f"postgresql://{name}@db/{name}"


@pytest.mark.parametrize("settings_class", SERVICES)
def test_every_service_can_leave_the_relay_to_another_replica(
    settings_class: type[CommonSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADLOOP_RUN_RELAY", raising=False)
    assert settings_class().run_relay
    monkeypatch.setenv("LEADLOOP_RUN_RELAY", "false")
    assert not settings_class().run_relay
