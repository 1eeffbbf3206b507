"""Feedback's initial schema: the closed-loop read model, CRM idempotency, campaigns, outbox.

Revision ID: feedback_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from leadloop_db.migrate import outbox_tables_downgrade, outbox_tables_upgrade

revision = "feedback_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
        schema="feedback",
    )
    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("rep_id", sa.String(length=100), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sla_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_touch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breaches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reassignments", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("assignment_id"),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_assignments_lead_id"),
        "assignments",
        ["lead_id"],
        unique=False,
        schema="feedback",
    )
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spend", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
        schema="feedback",
    )
    op.create_table(
        "crm_requests",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("crm_event_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.PrimaryKeyConstraint("kind", "crm_event_id"),
        schema="feedback",
    )
    op.create_table(
        "deals",
        sa.Column("crm_event_id", sa.String(length=200), nullable=False),
        sa.Column("deal_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recurring", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm_event_id"),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_deals_deal_id"), "deals", ["deal_id"], unique=False, schema="feedback"
    )
    op.create_index(
        op.f("ix_feedback_deals_lead_id"), "deals", ["lead_id"], unique=False, schema="feedback"
    )
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column(
            "campaigns",
            postgresql.ARRAY(sa.String(length=200)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.String(length=20), server_default="lead", nullable=False),
        sa.Column("fit", sa.Float(), nullable=True),
        sa.Column("interest", sa.Float(), nullable=True),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("interest_band", sa.String(length=40), nullable=True),
        sa.Column("erased", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lead_id"),
        schema="feedback",
    )
    # the outbox before its parking columns (feedback_0003 adds them)
    outbox_tables_upgrade("feedback", parked=False)
    op.create_table(
        "stage_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=False),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_stage_events_lead_id"),
        "stage_events",
        ["lead_id"],
        unique=False,
        schema="feedback",
    )
    op.create_table(
        "statuses",
        sa.Column("crm_event_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=100), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm_event_id"),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_statuses_lead_id"),
        "statuses",
        ["lead_id"],
        unique=False,
        schema="feedback",
    )
    op.create_table(
        "touches",
        sa.Column("crm_event_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("rep_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm_event_id"),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_touches_lead_id"), "touches", ["lead_id"], unique=False, schema="feedback"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_touches_lead_id"), table_name="touches", schema="feedback")
    op.drop_table("touches", schema="feedback")
    op.drop_index(op.f("ix_feedback_statuses_lead_id"), table_name="statuses", schema="feedback")
    op.drop_table("statuses", schema="feedback")
    op.drop_index(
        op.f("ix_feedback_stage_events_lead_id"), table_name="stage_events", schema="feedback"
    )
    op.drop_table("stage_events", schema="feedback")
    outbox_tables_downgrade("feedback", parked=False)
    op.drop_table("leads", schema="feedback")
    op.drop_index(op.f("ix_feedback_deals_lead_id"), table_name="deals", schema="feedback")
    op.drop_index(op.f("ix_feedback_deals_deal_id"), table_name="deals", schema="feedback")
    op.drop_table("deals", schema="feedback")
    op.drop_table("crm_requests", schema="feedback")
    op.drop_table("campaigns", schema="feedback")
    op.drop_index(
        op.f("ix_feedback_assignments_lead_id"), table_name="assignments", schema="feedback"
    )
    op.drop_table("assignments", schema="feedback")
    op.drop_table("agreements", schema="feedback")
