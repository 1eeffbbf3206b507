"""Intake's initial schema.

Revision ID: intake_0001
Revises:
"""

from alembic import op
from leadloop_intake.adapters.tables import metadata

revision = "intake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The first revision creates the tables as declared; later revisions use op.* changes.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
