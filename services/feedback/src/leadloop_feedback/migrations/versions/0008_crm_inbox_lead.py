"""The CRM inbox keeps whom a notification was about (#15): the lead it resolved to and the
HubSpot contacts it names (a contact's own id, or the contacts a deal or engagement is
associated with), so a lead's erasure deletes its rows.

Revision ID: feedback_0008
Revises: feedback_0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "feedback_0008"
down_revision = "feedback_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "crm_inbox", sa.Column("lead_id", sa.String(length=64), nullable=True), schema="feedback"
    )
    op.add_column(
        "crm_inbox",
        sa.Column("contact_ids", ARRAY(sa.String(length=200)), server_default="{}", nullable=False),
        schema="feedback",
    )
    # rows kept before: a contact's notification names that contact
    op.execute(
        "UPDATE feedback.crm_inbox SET contact_ids = ARRAY[object_id] WHERE object_type = 'contact'"
    )
    op.create_index(
        "ix_feedback_crm_inbox_lead_id", "crm_inbox", ["lead_id"], unique=False, schema="feedback"
    )
    op.create_index(
        "ix_feedback_crm_inbox_contact_ids",
        "crm_inbox",
        ["contact_ids"],
        unique=False,
        schema="feedback",
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_crm_inbox_contact_ids", table_name="crm_inbox", schema="feedback")
    op.drop_index("ix_feedback_crm_inbox_lead_id", table_name="crm_inbox", schema="feedback")
    op.drop_column("crm_inbox", "contact_ids", schema="feedback")
    op.drop_column("crm_inbox", "lead_id", schema="feedback")
