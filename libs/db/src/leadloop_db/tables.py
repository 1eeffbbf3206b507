"""The tables every service schema has: the outbox and the processed-events ledger."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """Events written in the same transaction as the state change, relayed to Kafka."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        # A row the broker refused for good (too large, say): kept with its error, skipped by
        # the relay so one record never stops the rest, and counted until someone looks at it.
        sa.Column("parked_at", sa.DateTime(timezone=True)),
        sa.Column("park_error", sa.Text),
        sa.Index(
            "ix_outbox_unsent",
            "id",
            postgresql_where=sa.text("sent_at IS NULL AND parked_at IS NULL"),
        ),
    )


def processed_events_table(metadata: sa.MetaData) -> sa.Table:
    """One row per (consumer, event id) handled: its unique key is the dedupe."""
    return sa.Table(
        "processed_events",
        metadata,
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a schema's outbox relay."""
    return f"leadloop_outbox_{schema}"
