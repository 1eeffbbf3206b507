"""The dashboard speaks in names (#14.16): each rep's name as routing gives it, each lead's
company (a business, not a person).

Revision ID: feedback_0005
Revises: feedback_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "feedback_0005"
down_revision = "feedback_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reps", sa.Column("name", sa.String(length=500)), schema="feedback")
    op.add_column("leads", sa.Column("company", sa.String(length=500)), schema="feedback")


def downgrade() -> None:
    op.drop_column("leads", "company", schema="feedback")
    op.drop_column("reps", "name", schema="feedback")
