"""The outbox parks a record the broker refuses for good, with its error (#12).

Revision ID: routing_0002
Revises: routing_0001
"""

from leadloop_db.migrate import park_outbox_downgrade, park_outbox_upgrade

revision = "routing_0002"
down_revision = "routing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    park_outbox_upgrade("routing")


def downgrade() -> None:
    park_outbox_downgrade("routing")
