"""The outbox parks a record the broker refuses for good, with its error (#12).

Revision ID: scoring_0002
Revises: scoring_0001
"""

from leadloop_db.migrate import park_outbox_downgrade, park_outbox_upgrade

revision = "scoring_0002"
down_revision = "scoring_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    park_outbox_upgrade("scoring")


def downgrade() -> None:
    park_outbox_downgrade("scoring")
