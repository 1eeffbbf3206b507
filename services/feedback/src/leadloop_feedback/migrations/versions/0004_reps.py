"""The reps hand-offs named, so a CRM touch by anyone else is refused (#12); filled from the
assignments already read.

Revision ID: feedback_0004
Revises: feedback_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "feedback_0004"
down_revision = "feedback_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reps",
        sa.Column("rep_id", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rep_id"),
        schema="feedback",
    )
    op.execute(
        "INSERT INTO feedback.reps (rep_id, first_seen_at) "
        "SELECT rep_id, min(assigned_at) FROM feedback.assignments "
        "WHERE rep_id IS NOT NULL GROUP BY rep_id"
    )


def downgrade() -> None:
    op.drop_table("reps", schema="feedback")
