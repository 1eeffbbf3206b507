"""The one migration helper for the outbox and processed-events tables."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from leadloop_db.migrate import outbox_tables_downgrade, outbox_tables_upgrade
from leadloop_db.tables import outbox_table, processed_events_table


def ddl(migration: Callable[[], None]) -> str:
    """The SQL a migration step emits, rendered offline for PostgreSQL."""
    out = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql", opts={"as_sql": True, "output_buffer": out}
    )
    with Operations.context(context):
        migration()
    return out.getvalue()


def columns(sql: str, table: str) -> list[str]:
    body = sql.split(f"CREATE TABLE {table} (", 1)[1].split(");", 1)[0]
    names = [line.strip().split()[0].strip('"') for line in body.strip().splitlines()]
    return [n for n in names if n not in {"PRIMARY", "UNIQUE"}]


def test_a_new_schema_gets_the_tables_the_code_reads() -> None:
    sql = ddl(lambda: outbox_tables_upgrade("newsvc"))
    metadata = sa.MetaData(schema="newsvc")
    assert columns(sql, "newsvc.outbox") == [c.name for c in outbox_table(metadata).columns]
    assert columns(sql, "newsvc.processed_events") == [
        c.name for c in processed_events_table(metadata).columns
    ]
    assert re.search(r"ix_outbox_unsent .* WHERE sent_at IS NULL AND parked_at IS NULL", sql)


def test_the_initial_shape_has_no_parking_yet() -> None:
    sql = ddl(lambda: outbox_tables_upgrade("intake", parked=False))
    assert "parked_at" not in sql and "park_error" not in sql
    assert sql.count("CREATE TABLE") == 2


def test_downgrade_drops_both_tables_and_the_index() -> None:
    sql = ddl(lambda: outbox_tables_downgrade("newsvc"))
    assert [line for line in sql.splitlines() if line] == [
        "DROP TABLE newsvc.processed_events;",
        "DROP INDEX newsvc.ix_outbox_unsent;",
        "DROP TABLE newsvc.outbox;",
    ]
