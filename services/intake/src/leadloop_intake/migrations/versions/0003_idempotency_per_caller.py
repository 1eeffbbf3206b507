"""Idempotency keys belong to their caller and expire (#12): the caller joins the primary key,
and created_at is indexed for the purge of expired keys.

Revision ID: intake_0003
Revises: intake_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "intake_0003"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keys stored before had no caller: they keep an owner no caller has, and expire.
    op.add_column(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=100), nullable=False, server_default="unscoped"),
        schema="intake",
    )
    op.alter_column("idempotency_keys", "caller", server_default=None, schema="intake")
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", schema="intake")
    op.create_primary_key(
        "idempotency_keys_pkey", "idempotency_keys", ["caller", "scope", "key"], schema="intake"
    )
    op.create_index(
        op.f("ix_intake_idempotency_keys_created_at"),
        "idempotency_keys",
        ["created_at"],
        schema="intake",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_intake_idempotency_keys_created_at"),
        table_name="idempotency_keys",
        schema="intake",
    )
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", schema="intake")
    # The same key of two callers cannot share the old primary key: keep the earliest.
    op.execute(
        "DELETE FROM intake.idempotency_keys a USING intake.idempotency_keys b"
        " WHERE a.scope = b.scope AND a.key = b.key AND (a.created_at, a.caller)"
        " > (b.created_at, b.caller)"
    )
    op.create_primary_key(
        "idempotency_keys_pkey", "idempotency_keys", ["scope", "key"], schema="intake"
    )
    op.drop_column("idempotency_keys", "caller", schema="intake")
