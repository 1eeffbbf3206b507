"""The outbox parks a record the broker refuses for good, with its error (#12).

Revision ID: intake_0002
Revises: intake_0001
"""

from leadloop_db.migrate import park_outbox_downgrade, park_outbox_upgrade

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    park_outbox_upgrade("intake")


def downgrade() -> None:
    park_outbox_downgrade("intake")
