"""Reps carry their CRM ids (HubSpot owner, Salesforce User) and the CRM whose sync made them
(#15): one rep per CRM owner, found by it or by email.

Revision ID: routing_0004
Revises: routing_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "routing_0004"
down_revision = "routing_0003"
branch_labels = None
depends_on = None
JSONB = postgresql.JSONB(astext_type=Text())


def upgrade() -> None:
    op.add_column(
        "reps",
        sa.Column("crm_ids", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        schema="routing",
    )
    op.add_column(
        "reps", sa.Column("synced_from", sa.String(length=20), nullable=True), schema="routing"
    )
    op.create_index(
        "uq_routing_reps_hubspot_owner",
        "reps",
        [sa.text("(crm_ids ->> 'hubspot')")],
        unique=True,
        schema="routing",
        postgresql_where=sa.text("crm_ids ? 'hubspot'"),
    )
    op.create_index(
        "uq_routing_reps_salesforce_user",
        "reps",
        [sa.text("left(crm_ids ->> 'salesforce', 15)")],
        unique=True,
        schema="routing",
        postgresql_where=sa.text("crm_ids ? 'salesforce'"),
    )
    op.create_index("ix_routing_reps_email", "reps", [sa.text("lower(email)")], schema="routing")


def downgrade() -> None:
    op.drop_index("ix_routing_reps_email", table_name="reps", schema="routing")
    op.drop_index("uq_routing_reps_salesforce_user", table_name="reps", schema="routing")
    op.drop_index("uq_routing_reps_hubspot_owner", table_name="reps", schema="routing")
    op.drop_column("reps", "synced_from", schema="routing")
    op.drop_column("reps", "crm_ids", schema="routing")
