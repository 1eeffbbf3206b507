"""Each schema's Alembic migrations create exactly what its table definitions declare."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leadloop_cli.services import SERVICES
from leadloop_db.engine import make_engine

INSTALLED = [s for s in SERVICES if s.migrations() is not None]


@pytest.mark.parametrize("service", INSTALLED, ids=lambda s: s.name)
async def test_migrated_schema_matches_the_tables(service: Any, database_url: str) -> None:
    tables = importlib.import_module(f"{service.package}.adapters.tables")
    schema = tables.metadata.schema
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn: sa.Connection) -> list[Any]:
                context = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "include_schemas": True,
                        "include_name": lambda name, kind, _parent: (
                            kind != "schema" or name == schema
                        ),
                        "include_object": lambda _obj, name, kind, _refl, _cmp: (
                            not (kind == "table" and name == "alembic_version")
                        ),
                    },
                )
                return list(compare_metadata(context, tables.metadata))

            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == [], f"{service.name}: migrations and tables.py disagree"
