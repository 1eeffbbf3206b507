"""Identity across systems (#15): how CRMs may name a lead (its email's SHA-256, its HubSpot or
Salesforce id) and a rep (email hash, CRM owner ids), each value naming one lead or rep. No
address is kept: an email only as the SHA-256 of its normalised form.

Revision ID: feedback_0006
Revises: feedback_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "feedback_0006"
down_revision = "feedback_0005"
branch_labels = None
depends_on = None

TABLES = (("lead_identities", "lead_id", 64), ("rep_identities", "rep_id", 500))


def upgrade() -> None:
    for table, owner, length in TABLES:
        op.create_table(
            table,
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("value", sa.String(length=64), nullable=False),
            sa.Column(owner, sa.String(length=length), nullable=False),
            sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("kind", "value"),
            schema="feedback",
        )
        op.create_index(
            op.f(f"ix_feedback_{table}_{owner}"), table, [owner], unique=False, schema="feedback"
        )


def downgrade() -> None:
    for table, owner, _ in reversed(TABLES):
        op.drop_index(op.f(f"ix_feedback_{table}_{owner}"), table_name=table, schema="feedback")
        op.drop_table(table, schema="feedback")
