"""Routing's initial schema: reps, accounts, round robin, assignments and SLA timers,
webhooks, emails, outbox.

Revision ID: routing_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from leadloop_db.migrate import outbox_tables_downgrade, outbox_tables_upgrade

revision = "routing_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_rep_id", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("domain"),
        schema="routing",
    )
    op.create_table(
        "agreements",
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
        schema="routing",
    )
    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("rep_id", sa.String(length=100), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("business", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("agreement_version", sa.String(length=100), nullable=False),
        sa.Column("decision", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("intelligence", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sla_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_touch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reassignments", sa.Integer(), server_default="0", nullable=False),
        sa.Column("timer_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timer_step", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "history",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("assignment_id"),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_assignments_lead_id"),
        "assignments",
        ["lead_id"],
        unique=False,
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_assignments_rep_id"),
        "assignments",
        ["rep_id"],
        unique=False,
        schema="routing",
    )
    op.create_index(
        "ix_routing_assignments_timer",
        "assignments",
        ["timer_due_at"],
        unique=False,
        schema="routing",
        postgresql_where=sa.text("timer_due_at IS NOT NULL"),
    )
    op.create_table(
        "emails",
        sa.Column("email_id", sa.String(length=36), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email_id"),
        sa.UniqueConstraint("dedupe_key"),
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_emails_lead_id"), "emails", ["lead_id"], unique=False, schema="routing"
    )
    # the outbox before its parking columns (routing_0002 adds them)
    outbox_tables_upgrade("routing", parked=False)
    op.create_table(
        "reps",
        sa.Column("rep_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("teams", postgresql.ARRAY(sa.String(length=100)), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("max_open_per_day", sa.Integer(), nullable=True),
        sa.Column("max_open_total", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("work_start", sa.Time(), nullable=False),
        sa.Column("work_end", sa.Time(), nullable=False),
        sa.Column("workdays", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("out_of_office", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("manager_email", sa.String(length=320), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rep_id"),
        schema="routing",
    )
    op.create_table(
        "round_robin",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("weights", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.PrimaryKeyConstraint("team"),
        schema="routing",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "attempts",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_delivery_per_event"),
        schema="routing",
    )
    op.create_index(
        "ix_routing_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        schema="routing",
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_routing_webhook_deliveries_lead_id"),
        "webhook_deliveries",
        ["lead_id"],
        unique=False,
        schema="routing",
    )
    op.create_index(
        op.f("ix_routing_webhook_deliveries_subscription_id"),
        "webhook_deliveries",
        ["subscription_id"],
        unique=False,
        schema="routing",
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=100)), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id"),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_table("webhook_subscriptions", schema="routing")
    op.drop_index(
        op.f("ix_routing_webhook_deliveries_subscription_id"),
        table_name="webhook_deliveries",
        schema="routing",
    )
    op.drop_index(
        op.f("ix_routing_webhook_deliveries_lead_id"),
        table_name="webhook_deliveries",
        schema="routing",
    )
    op.drop_index(
        "ix_routing_deliveries_due",
        table_name="webhook_deliveries",
        schema="routing",
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
    )
    op.drop_table("webhook_deliveries", schema="routing")
    op.drop_table("round_robin", schema="routing")
    op.drop_table("reps", schema="routing")
    outbox_tables_downgrade("routing", parked=False)
    op.drop_index(op.f("ix_routing_emails_lead_id"), table_name="emails", schema="routing")
    op.drop_table("emails", schema="routing")
    op.drop_index(
        "ix_routing_assignments_timer",
        table_name="assignments",
        schema="routing",
        postgresql_where=sa.text("timer_due_at IS NOT NULL"),
    )
    op.drop_index(op.f("ix_routing_assignments_rep_id"), table_name="assignments", schema="routing")
    op.drop_index(
        op.f("ix_routing_assignments_lead_id"), table_name="assignments", schema="routing"
    )
    op.drop_table("assignments", schema="routing")
    op.drop_table("agreements", schema="routing")
    op.drop_table("accounts", schema="routing")
