"""The outbox parks a record the broker refuses for good, with its error (#12).

Revision ID: feedback_0003
Revises: feedback_0002
"""

from leadloop_db.migrate import park_outbox_downgrade, park_outbox_upgrade

revision = "feedback_0003"
down_revision = "feedback_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    park_outbox_upgrade("feedback")


def downgrade() -> None:
    park_outbox_downgrade("feedback")
