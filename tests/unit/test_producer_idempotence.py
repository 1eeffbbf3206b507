"""The idempotent producer is chosen from the broker's answer (issue #16, item 3):
LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE=auto|true|false, the old boolean spellings still working."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadloop_messaging.idempotence import (
    BrokerSupport,
    IdempotenceUnsupported,
    choose_idempotence,
)
from leadloop_messaging.kafka import make_producer
from leadloop_platform.settings import CommonSettings

APACHE_KAFKA = BrokerSupport(advertised=(0, 5), init_error=0)
# Tansu 0.6: advertises InitProducerId v0-v5, answers v0 with UNKNOWN_SERVER_ERROR.
TANSU = BrokerSupport(advertised=(0, 5), init_error=-1)
NO_INIT_PRODUCER_ID = BrokerSupport(advertised=None)
# A broker that dropped v0 (aiokafka 0.14 sends only v0): never probed.
NEWER_VERSIONS_ONLY = BrokerSupport(advertised=(2, 6))


def test_auto_turns_idempotence_on_where_the_broker_grants_a_producer_id() -> None:
    assert APACHE_KAFKA.supported
    assert choose_idempotence("auto", APACHE_KAFKA) is True


@pytest.mark.parametrize("broker", [TANSU, NO_INIT_PRODUCER_ID, NEWER_VERSIONS_ONLY])
def test_auto_turns_it_off_where_the_broker_cannot(broker: BrokerSupport) -> None:
    assert not broker.supported
    assert choose_idempotence("auto", broker) is False


def test_the_reason_names_what_the_broker_said() -> None:
    assert "error code -1" in TANSU.reason()
    assert "does not advertise" in NO_INIT_PRODUCER_ID.reason()
    assert "v2-v6, aiokafka sends v0" in NEWER_VERSIONS_ONLY.reason()
    assert "granted" in APACHE_KAFKA.reason()


def test_true_against_a_broker_without_support_fails_with_one_clear_line() -> None:
    with pytest.raises(IdempotenceUnsupported) as refused:
        choose_idempotence("true", TANSU)
    message = str(refused.value)
    assert "\n" not in message
    assert "LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE=true" in message and "error code -1" in message
    assert choose_idempotence("true", APACHE_KAFKA) is True


def test_false_forces_it_off_without_asking() -> None:
    assert choose_idempotence("false", None) is False
    assert choose_idempotence("false", APACHE_KAFKA) is False
    with pytest.raises(ValueError, match="needs the broker's answer"):
        choose_idempotence("auto", None)


@pytest.mark.parametrize(
    ("raw", "setting"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("AUTO", "auto"),
        ("true", "true"),
        ("True", "true"),
        ("1", "true"),
        ("yes", "true"),
        ("on", "true"),
        ("false", "false"),
        ("0", "false"),
        ("off", "false"),
    ],
)
def test_the_setting_is_auto_by_default_and_old_values_keep_working(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, setting: str
) -> None:
    if raw is None:
        monkeypatch.delenv("LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE", raising=False)
    else:
        monkeypatch.setenv("LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE", raw)
    assert CommonSettings().kafka_enable_idempotence == setting


def test_an_unknown_value_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE", "sometimes")
    with pytest.raises(ValidationError, match="kafka_enable_idempotence"):
        CommonSettings()


async def test_the_producer_takes_the_choice() -> None:
    auto = CommonSettings(kafka_enable_idempotence="auto")
    chosen = make_producer(auto, idempotent=True)
    undecided = make_producer(auto)  # not detected: only a forced true turns it on
    forced = make_producer(CommonSettings(kafka_enable_idempotence="true"))
    try:
        assert chosen._txn_manager is not None
        assert undecided._txn_manager is None
        assert forced._txn_manager is not None
    finally:
        for producer in (chosen, undecided, forced):
            await producer.stop()
