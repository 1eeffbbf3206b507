"""Expected failures (a server unreachable, a file missing, bad input) as one line each.

Anything not listed here is a bug and keeps its traceback. Driver modules are looked up only
when already imported: a command that never loaded aiokafka cannot have failed in it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from leadloop_cli.devenv import NoDevStack

WHAT = {"database": "PostgreSQL", "broker": "the Kafka broker"}
HINT = {
    "database": "is the dev stack running (`make dev`)? else set DATABASE_URL",
    "broker": "is the dev stack running (`make dev`)? else set KAFKA_BOOTSTRAP_SERVERS",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _loaded(module: str, name: str) -> type[BaseException] | None:
    """The exception class `module.name` if that module is imported, else None."""
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _is(exc: BaseException, module: str, name: str) -> bool:
    kind = _loaded(module, name)
    return kind is not None and isinstance(exc, kind)


def where(need: str) -> str:
    """host:port of the database or broker the environment names, never a password."""
    if need == "broker":
        return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "?")
    url = os.environ.get("LEADLOOP_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}" if parts.hostname else "a local socket"


def explain(exc: BaseException, needs: Sequence[str]) -> str | None:
    """The one line for an expected failure, or None for a bug."""
    need = needs[0] if needs else ""
    if isinstance(exc, NoDevStack):
        return str(exc)
    if _is(exc, "aiokafka.errors", "KafkaConnectionError"):
        return f"cannot reach the Kafka broker at {where('broker')}: {exc}; {HINT['broker']}"
    if _is(exc, "sqlalchemy.exc", "DBAPIError") or _is(exc, "asyncpg", "PostgresError"):
        cause = getattr(exc, "orig", None) or exc
        return f"PostgreSQL at {where('database')} refused: {_one_line(str(cause))}"
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or exc}: no such file; check the path"
    if isinstance(exc, OSError) and need in WHAT:
        reason = exc.strerror or _one_line(str(exc))
        return f"cannot reach {WHAT[need]} at {where(need)} ({reason}); {HINT[need]}"
    if isinstance(exc, OSError):
        return f"{_one_line(str(exc))}; check the path and permissions"
    if isinstance(exc, ValueError):
        return f"bad input: {_one_line(str(exc))}"
    return None
