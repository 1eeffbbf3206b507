"""The CRM inbox (#15): HubSpot notifications (ids only) waiting to be read from the CRM and
recorded as touches, status updates and deals; one row per event key, leased by a worker.

Revision ID: feedback_0007
Revises: feedback_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "feedback_0007"
down_revision = "feedback_0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crm_inbox",
        sa.Column("event_key", sa.String(length=500), nullable=False),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("subscription_type", sa.String(length=200), nullable=False),
        sa.Column("object_type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("property_name", sa.String(length=200), nullable=True),
        sa.Column("property_value", sa.Text(), nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_id", sa.String(length=64), nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("event_key"),
        schema="feedback",
    )
    op.create_index(
        "ix_feedback_crm_inbox_due",
        "crm_inbox",
        ["status", "next_attempt_at"],
        unique=False,
        schema="feedback",
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_crm_inbox_due", table_name="crm_inbox", schema="feedback")
    op.drop_table("crm_inbox", schema="feedback")
