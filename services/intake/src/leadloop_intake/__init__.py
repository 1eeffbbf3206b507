"""The intake service: form fills and activity in, lead events out."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "intake"
