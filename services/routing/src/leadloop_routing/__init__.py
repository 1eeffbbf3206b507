"""The routing service: the right rep within seconds, the lead alert, and SLA timers."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "routing"
