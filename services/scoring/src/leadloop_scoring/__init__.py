"""The scoring service: the agreement applied to every lead event."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "scoring"
