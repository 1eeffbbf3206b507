"""What one connector attempt leaves on its job: succeeded, retried on the backoff schedule or
at the vendor's Retry-After, or failed for good; the typed vendor errors map onto those."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadloop_connectors.http import AuthFailed, PermanentError, RateLimited, TransientError
from leadloop_routing.adapters.webhook_sender import RETRY_SCHEDULE, next_attempt_delay
from leadloop_routing.domain.connectors import (
    MAX_ATTEMPTS,
    ConnectorDelivery,
    ConnectorResult,
    JobAttempt,
    job_outcome,
)
from leadloop_routing.entrypoints.connector_workers import outcome_label, result_of_error

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def job(*attempts: dict[str, object]) -> ConnectorDelivery:
    """A leased HubSpot job for lead-ACME-DENTAL with `attempts` behind it."""
    return ConnectorDelivery(
        delivery_id="job-1",
        connector="hubspot",
        event_id="alert-1",
        event_type="leadloop.lead.assigned.v1",
        lead_id="lead-ACME-DENTAL",
        payload={"id": "alert-1", "data": {"lead_id": "lead-ACME-DENTAL"}},
        status="pending",
        attempts=tuple(attempts),
        progress={},
        next_attempt_at=NOW,
        created_at=NOW,
        lease_id="lease-1",
    )


def attempt(outcome: str, retry_after_s: float | None = None) -> JobAttempt:
    return JobAttempt(NOW, outcome, "boom" if outcome != "ok" else None, retry_after_s, 12.0)  # type: ignore[arg-type]


def test_an_ok_attempt_succeeds_and_keeps_the_progress() -> None:
    out = job_outcome(job(), attempt("ok"), {"task_id": "t-9"}, next_attempt_delay)
    assert (out.status, out.next_attempt_at, out.finished_at) == ("succeeded", None, NOW)
    assert out.progress == {"task_id": "t-9"} and out.lease_id == "lease-1"
    assert [a["outcome"] for a in out.attempts] == ["ok"]


def test_a_transient_failure_retries_along_the_schedule() -> None:
    first = job_outcome(job(), attempt("retry"), {}, next_attempt_delay)
    assert first.status == "pending" and first.next_attempt_at == NOW + RETRY_SCHEDULE[0]
    second = job_outcome(job(*first.attempts), attempt("retry"), {}, next_attempt_delay)
    assert second.next_attempt_at == NOW + RETRY_SCHEDULE[1]


def test_a_rate_limited_attempt_waits_retry_after_and_does_not_advance_the_schedule() -> None:
    limited = job_outcome(job(), attempt("retry", 7.0), {}, next_attempt_delay)
    assert limited.status == "pending" and limited.next_attempt_at == NOW + timedelta(seconds=7)
    after = job_outcome(job(*limited.attempts), attempt("retry"), {}, next_attempt_delay)
    assert after.next_attempt_at == NOW + RETRY_SCHEDULE[0]


def test_an_exhausted_schedule_fails_for_good() -> None:
    spent = [attempt("retry").to_json() for _ in RETRY_SCHEDULE]
    out = job_outcome(job(*spent), attempt("retry"), {}, next_attempt_delay)
    assert (out.status, out.next_attempt_at, out.finished_at) == ("failed", None, NOW)


def test_endless_rate_limits_stop_at_the_attempt_cap() -> None:
    limited = [attempt("retry", 1.0).to_json() for _ in range(MAX_ATTEMPTS - 1)]
    assert job_outcome(job(*limited), attempt("retry", 1.0), {}, next_attempt_delay).status == (
        "failed"
    )
    assert job_outcome(job(*limited[1:]), attempt("retry", 1.0), {}, next_attempt_delay).status == (
        "pending"
    )


def test_a_failed_result_is_final_at_once() -> None:
    out = job_outcome(job(), attempt("failed"), {"contact_id": "c-1"}, next_attempt_delay)
    assert (out.status, out.progress) == ("failed", {"contact_id": "c-1"})


@pytest.mark.parametrize(
    ("error", "outcome", "after", "label"),
    [
        (RateLimited(30.0), "retry", 30.0, "rate_limited"),
        (TransientError("HTTP 503"), "retry", None, "retry"),
        (AuthFailed("HTTP 401"), "retry", None, "retry"),
        (PermanentError(400, "INVALID_EMAIL"), "failed", None, "failed"),
    ],
)
def test_typed_vendor_errors_become_results(
    error: Exception, outcome: str, after: float | None, label: str
) -> None:
    result = result_of_error(error)  # type: ignore[arg-type]
    assert (result.outcome, result.retry_after_s, outcome_label(result)) == (outcome, after, label)
    assert result.error and str(error) in result.error


def test_result_constructors_say_what_they_mean() -> None:
    assert ConnectorResult.ok().outcome == "ok"
    assert ConnectorResult.retry("busy", after_s=2).retry_after_s == 2
    assert ConnectorResult.failed("no", {"x": 1}).progress == {"x": 1}
