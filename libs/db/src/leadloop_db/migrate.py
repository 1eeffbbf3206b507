"""Alembic per service schema: each schema keeps its own version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.schema import SchemaItem

from leadloop_db.engine import make_engine

# Two processes migrating at once wait for each other instead of racing.
_LOCK_KEY = 7_464_201


def config_for(database_url: str, location: Path, schema: str) -> Config:
    """An Alembic config without an ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(database_url: str, location: Path, schema: str, revision: str = "head") -> None:
    """Bring `schema` up to `revision` (blocking; call from a thread inside an event loop)."""
    command.upgrade(config_for(database_url, location, schema), revision)


async def upgrade_async(database_url: str, location: Path, schema: str) -> None:
    """`upgrade` from async code."""
    await asyncio.to_thread(upgrade, database_url, location, schema)


def run_env(target_metadata: sa.MetaData | None = None) -> None:
    """The body of every migrations/env.py: online, async, schema-scoped, locked."""
    cfg = context.config
    schema: str = cfg.attributes["schema"]
    url: str = cfg.attributes["database_url"]

    def run(connection: Connection) -> None:
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(main())


def park_outbox_upgrade(schema: str) -> None:
    """Add the outbox's parking columns and narrow the unsent index to rows still to send."""
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("outbox", sa.Column("park_error", sa.Text()), schema=schema)
    op.drop_index("ix_outbox_unsent", table_name="outbox", schema=schema)
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        schema=schema,
        postgresql_where=sa.text("sent_at IS NULL AND parked_at IS NULL"),
    )


def park_outbox_downgrade(schema: str) -> None:
    """Undo `park_outbox_upgrade`."""
    op.drop_index("ix_outbox_unsent", table_name="outbox", schema=schema)
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        schema=schema,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.drop_column("outbox", "park_error", schema=schema)
    op.drop_column("outbox", "parked_at", schema=schema)


def outbox_tables_upgrade(schema: str, *, parked: bool = True) -> None:
    """Create `schema`'s outbox and processed-events tables, as every service has them.

    New migrations call it as is (the outbox with its parking columns). The four initial
    migrations call it with `parked=False`: the shape they created before the parking columns
    were added by `park_outbox_upgrade` in a later revision.
    """
    _create_outbox(schema, parked=parked)
    _create_processed_events(schema)


def _create_outbox(schema: str, *, parked: bool) -> None:
    """The outbox table and its index of rows still to send."""
    parking: list[SchemaItem] = (
        [
            sa.Column("parked_at", sa.DateTime(timezone=True)),
            sa.Column("park_error", sa.Text()),
        ]
        if parked
        else []
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        *parking,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text(_unsent(parked)),
    )


def _create_processed_events(schema: str) -> None:
    """The consumer's dedupe table: one row per (consumer, event id) handled."""
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
        schema=schema,
    )


def _unsent(parked: bool) -> str:
    """The outbox index's predicate: rows still to send, with or without the parking column."""
    return "sent_at IS NULL AND parked_at IS NULL" if parked else "sent_at IS NULL"


def outbox_tables_downgrade(schema: str, *, parked: bool = True) -> None:
    """Drop what `outbox_tables_upgrade` created."""
    op.drop_table("processed_events", schema=schema)
    op.drop_index(
        "ix_outbox_unsent",
        table_name="outbox",
        schema=schema,
        postgresql_where=sa.text(_unsent(parked)),
    )
    op.drop_table("outbox", schema=schema)
