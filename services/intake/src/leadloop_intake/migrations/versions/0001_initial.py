"""Intake's initial schema: leads, submissions, activities, idempotency keys, imports, outbox.

Revision ID: intake_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from leadloop_db.migrate import outbox_tables_downgrade, outbox_tables_upgrade

revision = "intake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_idempotency_keys_lead_id"),
        "idempotency_keys",
        ["lead_id"],
        unique=False,
        schema="intake",
    )
    op.create_table(
        "imports",
        sa.Column("import_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("import_id"),
        schema="intake",
    )
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("email_normalized", sa.String(length=320), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("company_size", sa.Integer(), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("first_source", sa.String(length=100), nullable=True),
        sa.Column("first_campaign", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("lead_id"),
        sa.UniqueConstraint("email_normalized"),
        schema="intake",
    )
    # the outbox before its parking columns (intake_0002 adds them)
    outbox_tables_upgrade("intake", parked=False)
    op.create_table(
        "activities",
        sa.Column("activity_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("activity_type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("asset", sa.String(length=200), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("properties", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["intake.leads.lead_id"],
        ),
        sa.PrimaryKeyConstraint("activity_id"),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_activities_lead_id"),
        "activities",
        ["lead_id"],
        unique=False,
        schema="intake",
    )
    op.create_table(
        "submissions",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("form_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["intake.leads.lead_id"],
        ),
        sa.PrimaryKeyConstraint("submission_id"),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_submissions_lead_id"),
        "submissions",
        ["lead_id"],
        unique=False,
        schema="intake",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_submissions_lead_id"), table_name="submissions", schema="intake")
    op.drop_table("submissions", schema="intake")
    op.drop_index(op.f("ix_intake_activities_lead_id"), table_name="activities", schema="intake")
    op.drop_table("activities", schema="intake")
    outbox_tables_downgrade("intake", parked=False)
    op.drop_table("leads", schema="intake")
    op.drop_table("imports", schema="intake")
    op.drop_index(
        op.f("ix_intake_idempotency_keys_lead_id"), table_name="idempotency_keys", schema="intake"
    )
    op.drop_table("idempotency_keys", schema="intake")
