"""Connector deliveries: each lead event on its way to HubSpot, Salesforce or Slack (#15).

Revision ID: routing_0003
Revises: routing_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "routing_0003"
down_revision = "routing_0002"
branch_labels = None
depends_on = None
JSONB = postgresql.JSONB(astext_type=Text())
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connector_deliveries",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("connector", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("progress", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("delivery_id"),
        sa.UniqueConstraint("connector", "event_id", name="uq_connector_delivery_per_event"),
        schema="routing",
    )
    op.create_index(
        "ix_routing_connector_deliveries_line",
        "connector_deliveries",
        ["connector", "lead_id", "seq"],
        unique=False,
        schema="routing",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_routing_connector_deliveries_due",
        "connector_deliveries",
        ["next_attempt_at"],
        unique=False,
        schema="routing",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_routing_connector_deliveries_lead_id"),
        "connector_deliveries",
        ["lead_id"],
        unique=False,
        schema="routing",
    )


def downgrade() -> None:
    op.drop_table("connector_deliveries", schema="routing")
