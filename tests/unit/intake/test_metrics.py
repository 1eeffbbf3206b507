"""Intake's metrics are counted from what its unit of work committed, never from handlers."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from leadloop_intake import handlers
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.domain.errors import UnknownLeads
from leadloop_intake.domain.model import Activity, FormSubmission
from leadloop_intake.metrics import observe
from leadloop_runtime import Transactions

from .fakes import FakeUnitOfWork


def captured(channel: str, source: str, new: str) -> float:
    labels = {"channel": channel, "source": source, "new_lead": new}
    return REGISTRY.get_sample_value("leadloop_leads_captured_total", labels) or 0.0


def recorded(activity_type: str) -> float:
    labels = {"activity_type": activity_type}
    return REGISTRY.get_sample_value("leadloop_activities_recorded_total", labels) or 0.0


def test_the_unit_of_work_declares_the_observer() -> None:
    assert observe in SqlUnitOfWork.observers


async def test_captures_and_activities_count_once_committed() -> None:
    uow = FakeUnitOfWork()
    runner: Transactions[Any] = Transactions(lambda: uow)
    form = FormSubmission(email="ana@acme-dental.com", source="Paid Search")
    before = captured("form", "paid_search", "true"), captured("form", "paid_search", "false")
    command = handlers.CaptureLead(form, "form", "{}")
    ana = await runner.run(handlers.capture_lead, command)
    await runner.run(handlers.capture_lead, command)
    after = captured("form", "paid_search", "true"), captured("form", "paid_search", "false")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)

    views = recorded("pricing_page_view")
    good = Activity.model_validate(
        {"lead_id": ana.lead_id, "type": "pricing_page_view", "occurred_at": "2026-11-20T10:00Z"}
    )
    unknown = good.model_copy(update={"lead_id": "nobody"})
    with pytest.raises(UnknownLeads):
        await runner.run(handlers.record_activities, handlers.RecordActivities([good, unknown]))
    assert recorded("pricing_page_view") == views  # nothing committed, nothing counted
    await runner.run(handlers.record_activities, handlers.RecordActivities([good, good]))
    assert recorded("pricing_page_view") == views + 2
