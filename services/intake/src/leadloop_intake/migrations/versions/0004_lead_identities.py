"""A lead's ids in other systems (#15): HubSpot contact and Salesforce lead or contact ids.

Revision ID: intake_0004
Revises: intake_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_identities",
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["intake.leads.lead_id"]),
        sa.PrimaryKeyConstraint("system", "external_id"),
        sa.UniqueConstraint("lead_id", "system", name="uq_lead_identities_lead_system"),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("lead_identities", schema="intake")
