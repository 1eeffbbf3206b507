"""The read model's statements compile to what Postgres needs (no database: compiled SQL)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from leadloop_feedback.adapters.read_model import append_campaign
from leadloop_feedback.adapters.tables import leads


def test_campaign_append_keeps_order_and_skips_known_ones() -> None:
    sql = str(
        leads.update()
        .values(campaigns=append_campaign("demo-page"))
        .compile(dialect=postgresql.dialect())
    )
    assert "array_append(feedback.leads.campaigns" in sql
    assert "= ANY (feedback.leads.campaigns)" in sql
