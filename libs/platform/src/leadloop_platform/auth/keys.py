"""Create, look up and revoke API keys. Keys are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

SCOPES: Final = ("intake:write", "crm:write", "reports:read", "admin")
KEY_PREFIX: Final = "llk_"

metadata = sa.MetaData(schema="auth")
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.ARRAY(sa.String(32)), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)


# Secrets the services share through the database, such as the key that signs dashboard
# sessions: created by the first process that needs one, read by every other.
signing_secrets = sa.Table(
    "signing_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("secret", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
# Every service LISTENs here; a revocation NOTIFYs the key id, so no process keeps a revoked key.
REVOKED_CHANNEL: Final = "leadloop_auth_revoked"


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do; `session` when it is a dashboard session (which
    reads reports only), not an API key."""

    key_id: str
    scopes: frozenset[str]
    session: bool = False

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    """Refuse unknown scope names."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown or missing scopes {unknown}; choose from {', '.join(SCOPES)}")
    return sorted(set(scopes))


async def create_key(engine: AsyncEngine, name: str, scopes: list[str]) -> tuple[str, str]:
    """Create a key; returns (key_id, the key itself, shown once)."""
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    async with engine.begin() as conn:
        await conn.execute(
            api_keys.insert().values(
                key_id=key_id,
                name=name,
                key_hash=hash_key(key),
                scopes=check_scopes(scopes),
                created_at=datetime.now(UTC),
            )
        )
    return key_id, key


async def revoke_key(engine: AsyncEngine, key_id: str) -> bool:
    """Revoke a key; False when no active key has that id."""
    async with engine.begin() as conn:
        result = await conn.execute(
            api_keys.update()
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if result.rowcount:
            # Delivered at commit to every listening process, which forgets the key at once.
            await conn.execute(sa.select(sa.func.pg_notify(REVOKED_CHANNEL, key_id)))
    return bool(result.rowcount)


async def list_keys(engine: AsyncEngine) -> list[dict[str, object]]:
    """Every key's metadata (never the key)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                api_keys.c.key_id,
                api_keys.c.name,
                api_keys.c.scopes,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            ).order_by(api_keys.c.created_at)
        )
        return [dict(r._mapping) for r in rows]


async def find_principal(engine: AsyncEngine, key: str) -> Principal | None:
    """The active key matching `key`, if any."""
    return await find_by_hash(engine, hash_key(key))


async def find_by_hash(engine: AsyncEngine, key_hash: str) -> Principal | None:
    """The active key whose SHA-256 is `key_hash`, if any."""
    return await _find(engine, api_keys.c.key_hash == key_hash)


async def find_by_id(engine: AsyncEngine, key_id: str, hash_prefix: str) -> Principal | None:
    """The active key `key_id`, if its SHA-256 still starts with `hash_prefix` (hex)."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", hash_prefix):
        return None
    return await _find(
        engine, sa.and_(api_keys.c.key_id == key_id, api_keys.c.key_hash.startswith(hash_prefix))
    )


async def _find(engine: AsyncEngine, where: sa.ColumnElement[bool]) -> Principal | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(api_keys.c.key_id, api_keys.c.scopes).where(
                    where, api_keys.c.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None
    return Principal(key_id=row.key_id, scopes=frozenset(row.scopes))
