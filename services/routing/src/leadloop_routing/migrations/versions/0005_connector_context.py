"""Connector jobs carry their context (#15): what routing's state said when the job was queued
(the agreement's rejection reasons and CRM mapping, the team's Slack channel, the rep), so a
connector never reads routing's tables.

Revision ID: routing_0005
Revises: routing_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "routing_0005"
down_revision = "routing_0004"
branch_labels = None
depends_on = None
JSONB = postgresql.JSONB(astext_type=Text())


def upgrade() -> None:
    op.add_column(
        "connector_deliveries",
        sa.Column("context", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_column("connector_deliveries", "context", schema="routing")
