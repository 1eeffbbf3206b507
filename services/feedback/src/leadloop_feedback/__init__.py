"""The feedback service: sales tells marketing what happened; both see one picture."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "feedback"
