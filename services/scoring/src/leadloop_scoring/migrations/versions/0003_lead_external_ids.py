"""A lead's ids in other systems (#15), carried into the hand-off's intelligence.

Revision ID: scoring_0003
Revises: scoring_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "scoring_0003"
down_revision = "scoring_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "leads",
        sa.Column("external_ids", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_column("leads", "external_ids", schema="scoring")
