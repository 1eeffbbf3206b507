"""The read model's statements compile to what Postgres needs (no database: compiled SQL)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from leadloop_feedback.adapters.tables import leads
from leadloop_feedback.projection import _append


def test_campaign_append_keeps_order_and_skips_known_ones() -> None:
    sql = str(
        leads.update().values(campaigns=_append("demo-page")).compile(dialect=postgresql.dialect())
    )
    assert "array_append(feedback.leads.campaigns" in sql
    assert "= ANY (feedback.leads.campaigns)" in sql
