"""Database access shared by the services: engine, unit of work, outbox tables, migrations."""

from pathlib import Path

AUTH_MIGRATIONS = Path(__file__).parent / "auth_migrations"
