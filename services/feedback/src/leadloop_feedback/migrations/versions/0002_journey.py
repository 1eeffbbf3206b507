"""The lead journey: every event of a lead, in words.

Revision ID: feedback_0002
Revises: feedback_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "feedback_0002"
down_revision = "feedback_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_journey_lead_id"),
        "journey",
        ["lead_id"],
        unique=False,
        schema="feedback",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_journey_lead_id"), table_name="journey", schema="feedback")
    op.drop_table("journey", schema="feedback")
