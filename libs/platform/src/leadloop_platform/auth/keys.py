"""Create, look up and revoke API keys. Keys are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
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


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do."""

    key_id: str
    scopes: frozenset[str]

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
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(api_keys.c.key_id, api_keys.c.scopes).where(
                    api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None
    return Principal(key_id=row.key_id, scopes=frozenset(row.scopes))
