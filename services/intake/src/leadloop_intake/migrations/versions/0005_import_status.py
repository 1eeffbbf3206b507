"""An import's status (#17): leads new to intake, its first rejected rows, a failure.

Revision ID: intake_0005
Revises: intake_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "imports",
        sa.Column("new_leads", sa.Integer(), server_default="0", nullable=False),
        schema="intake",
    )
    op.add_column(
        "imports",
        sa.Column(
            "errors",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="intake",
    )
    op.add_column("imports", sa.Column("failure", sa.Text(), nullable=True), schema="intake")


def downgrade() -> None:
    for column in ("failure", "errors", "new_leads"):
        op.drop_column("imports", column, schema="intake")
