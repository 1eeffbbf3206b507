"""The captures of a CSV import scored so far (#17), counted for the import's progress.

Revision ID: scoring_0004
Revises: scoring_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "scoring_0004"
down_revision = "scoring_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_scores",
        sa.Column("import_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("import_id", "event_id"),
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_table("import_scores", schema="scoring")
