"""An import's heartbeat (#17): when its writer last wrote a batch, and the line it ended on.

Revision ID: intake_0006
Revises: intake_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "imports",
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        schema="intake",
    )
    op.add_column("imports", sa.Column("last_line", sa.Integer(), nullable=True), schema="intake")


def downgrade() -> None:
    for column in ("last_line", "updated_at"):
        op.drop_column("imports", column, schema="intake")
