"""Alembic per service schema: each schema keeps its own version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.engine import Connection

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
