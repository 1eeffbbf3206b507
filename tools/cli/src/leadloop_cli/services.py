"""Which services exist, and provisioning: topics and migrations (auth, then each service)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadloop_db import AUTH_MIGRATIONS
from leadloop_db.migrate import upgrade_async
from leadloop_messaging.provisioning import DEFAULT_PARTITIONS, ensure_topics, topic_plan


@dataclass(frozen=True)
class Service:
    """One service: its import package, its default port; its app is `<package>.bootstrap`."""

    name: str
    package: str
    default_port: int

    @property
    def app(self) -> str:
        return f"{self.package}.bootstrap:create_app"

    def port(self, env: Mapping[str, str]) -> int:
        """LEADLOOP_<NAME>_PORT, or the default port."""
        return int(env.get(f"LEADLOOP_{self.name.upper()}_PORT", self.default_port))

    def database_url(self, env: Mapping[str, str], default: str) -> str:
        """LEADLOOP_<NAME>_DATABASE_URL, or the shared database."""
        return env.get(f"LEADLOOP_{self.name.upper()}_DATABASE_URL") or default

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None

    def runnable(self) -> bool:
        """True when the package and its bootstrap module exist."""
        bootstrap = f"{self.package}.bootstrap"
        return self.installed() and importlib.util.find_spec(bootstrap) is not None

    def migrations(self) -> tuple[Path, str] | None:
        """(alembic directory, schema), when the service has migrations."""
        if not self.installed():
            return None
        module = importlib.import_module(self.package)
        location: Path | None = getattr(module, "MIGRATIONS", None)
        return (location, getattr(module, "SCHEMA", self.name)) if location else None


# uvicorn's default parser (httptools) reads headers of any size; h11 stops at about one socket
# read past this limit, and the app refuses anything over it (431). The same options are set
# as UVICORN_* variables in deploy/ (compose, k8s, the image).
MAX_HEADER_BYTES = 16 * 1024
SERVER_OPTIONS: tuple[str, ...] = (
    "--http",
    "h11",
    "--h11-max-incomplete-event-size",
    str(MAX_HEADER_BYTES),
)


def server_argv(app: str, host: str, port: int, *extra: str) -> list[str]:
    """The command that serves one service's app factory with uvicorn, header size capped."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        app,
        "--host",
        host,
        "--port",
        str(port),
        *SERVER_OPTIONS,
        *extra,
    ]


# Adding a service is one line here.
SERVICES: tuple[Service, ...] = (
    Service("intake", "leadloop_intake", 8001),
    Service("scoring", "leadloop_scoring", 8002),
    Service("routing", "leadloop_routing", 8003),
    Service("feedback", "leadloop_feedback", 8004),
)


def env_database_url(env: Mapping[str, str]) -> str | None:
    return env.get("LEADLOOP_DATABASE_URL") or env.get("DATABASE_URL")


def env_bootstrap_servers(env: Mapping[str, str]) -> str | None:
    return env.get("LEADLOOP_KAFKA_BOOTSTRAP_SERVERS") or env.get("KAFKA_BOOTSTRAP_SERVERS")


async def migrate_all(
    database_url: str,
    env: Mapping[str, str] = os.environ,
    progress: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Auth schema in every database a service uses, then each installed service's schema;
    `progress` hears of each step."""
    done: list[str] = []
    with_migrations = [(s, m) for s in SERVICES if (m := s.migrations()) is not None]
    urls = [database_url, *(s.database_url(env, database_url) for s, _ in with_migrations)]
    for url in dict.fromkeys(urls):
        progress("migrating schema auth")
        await upgrade_async(url, AUTH_MIGRATIONS, "auth")
    done.append("auth")
    for service, (location, schema) in with_migrations:
        progress(f"migrating schema {schema}")
        await upgrade_async(service.database_url(env, database_url), location, schema)
        done.append(schema)
    return done


async def create_topics(
    bootstrap_servers: str,
    prefix: str = "",
    partitions: int = DEFAULT_PARTITIONS,
    security: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every topic with its partition count; returns those created now."""
    return await ensure_topics(bootstrap_servers, topic_plan(prefix, partitions), security=security)
