"""Scoring's initial schema: agreements, leads, activities, score and stage history, outbox.

Revision ID: scoring_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from leadloop_db.migrate import outbox_tables_downgrade, outbox_tables_upgrade

revision = "scoring_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("activity_type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("activity_id"),
        schema="scoring",
    )
    op.create_index(
        "ix_scoring_activities_lead",
        "activities",
        ["lead_id", "occurred_at"],
        unique=False,
        schema="scoring",
    )
    op.create_table(
        "agreements",
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("source_yaml", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("version"),
        schema="scoring",
    )
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("profile", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("stage", sa.String(length=20), server_default="lead", nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fit", sa.Float(), server_default="0", nullable=False),
        sa.Column("interest", sa.Float(), server_default="0", nullable=False),
        sa.Column("total", sa.Float(), server_default="0", nullable=False),
        sa.Column("grade", sa.String(length=1), server_default="D", nullable=False),
        sa.Column("interest_band", sa.String(length=40), server_default="", nullable=False),
        sa.Column(
            "breakdown",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("agreement_version", sa.String(length=100), nullable=True),
        sa.Column(
            "sources", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False
        ),
        sa.Column(
            "campaigns",
            postgresql.ARRAY(sa.String(length=200)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("first_source", sa.String(length=100), nullable=True),
        sa.Column("first_campaign", sa.String(length=200), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recycled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_rescore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lead_id"),
        schema="scoring",
    )
    op.create_index(
        "ix_scoring_leads_rescore",
        "leads",
        ["next_rescore_at"],
        unique=False,
        schema="scoring",
        postgresql_where=sa.text("next_rescore_at IS NOT NULL"),
    )
    # the outbox before its parking columns (scoring_0002 adds them)
    outbox_tables_upgrade("scoring", parked=False)
    op.create_table(
        "score_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("fit", sa.Float(), nullable=False),
        sa.Column("interest", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("interest_band", sa.String(length=40), nullable=False),
        sa.Column("breakdown", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("agreement_version", sa.String(length=100), nullable=False),
        sa.Column("cause", sa.String(length=100), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="scoring",
    )
    op.create_index(
        op.f("ix_scoring_score_history_lead_id"),
        "score_history",
        ["lead_id"],
        unique=False,
        schema="scoring",
    )
    op.create_table(
        "stage_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=False),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agreement_version", sa.String(length=100), nullable=True),
        sa.Column("cause", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="scoring",
    )
    op.create_index(
        op.f("ix_scoring_stage_history_lead_id"),
        "stage_history",
        ["lead_id"],
        unique=False,
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_scoring_stage_history_lead_id"), table_name="stage_history", schema="scoring"
    )
    op.drop_table("stage_history", schema="scoring")
    op.drop_index(
        op.f("ix_scoring_score_history_lead_id"), table_name="score_history", schema="scoring"
    )
    op.drop_table("score_history", schema="scoring")
    outbox_tables_downgrade("scoring", parked=False)
    op.drop_index(
        "ix_scoring_leads_rescore",
        table_name="leads",
        schema="scoring",
        postgresql_where=sa.text("next_rescore_at IS NOT NULL"),
    )
    op.drop_table("leads", schema="scoring")
    op.drop_table("agreements", schema="scoring")
    op.drop_index("ix_scoring_activities_lead", table_name="activities", schema="scoring")
    op.drop_table("activities", schema="scoring")
