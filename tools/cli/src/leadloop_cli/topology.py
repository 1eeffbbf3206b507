"""The topology on one page: who serves what over HTTP, consumes and produces which events, and
owns which schema, generated from the services themselves.

    leadloop topology          # write the AsyncAPI receive side and the README's table
    leadloop topology --check  # exit 1, naming stale files, if out of date

What a service consumes comes from its handler registry (the very one its consumer subscribes
with), what it produces from libs/events (each topic's one producer and the types on it), its
HTTP routes from its app (built, never started: building connects to nothing), its tables from
its schema's metadata. libs/ must not import services, hence this lives in the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.routing import Route

from leadloop_cli.services import SERVICES, Service
from leadloop_events import generate, topics
from leadloop_events.catalog import types_on
from leadloop_runtime import Registry

ROOT = Path(__file__).resolve().parents[4]
README = ROOT / "README.md"
START, END = "<!-- topology:start -->", "<!-- topology:end -->"
METHODS = ("get", "post", "put", "patch", "delete")
# The runtime's own tables (leadloop_db.tables), which every consuming service keeps alike.
RUNTIME_TABLES = frozenset({"outbox", "processed_events"})


@dataclass(frozen=True)
class ServiceView:
    """What the topology shows of one service."""

    name: str
    http: tuple[str, ...]  # "METHOD /path"
    consumes: dict[str, list[str]]  # topic -> event types handled, in catalog order
    schema: str
    tables: tuple[str, ...]


def consumed(registry: Registry[Any]) -> dict[str, list[str]]:
    """Topic -> the event types `registry` handles on it (topics in catalog order)."""
    types = registry.event_types()
    return {t: [m.event_type for m in types_on(t) if m in types] for t in registry.topics()}


def produced(service: str) -> dict[str, list[str]]:
    """Topic -> the event types `service` publishes: the topics it is the one producer of."""
    mine = [t for t in topics.ALL if generate.producer(t) == service]
    return {t: [m.event_type for m in types_on(t)] for t in mine}


def _settings(service: Service) -> Any:
    return importlib.import_module(f"{service.package}.config").Settings()


def registry_of(service: Service) -> Registry[Any]:
    """The service's handler registry: `handlers.registry(...)`, given its Settings() for the
    parameters that ask for them (the others keep their defaults)."""
    handlers = importlib.import_module(f"{service.package}.handlers")
    build = getattr(handlers, "registry", None)
    if not inspect.isfunction(build):
        raise LookupError(f"{handlers.__name__} has no registry(): the topology is read from it")
    arguments = {}
    for name, parameter in inspect.signature(build).parameters.items():
        if name == "settings" or "Settings" in str(parameter.annotation):
            arguments[name] = _settings(service)
        elif parameter.default is inspect.Parameter.empty:
            raise TypeError(f"{handlers.__name__}.registry needs {name!r}: give it a default")
    built = build(**arguments)
    return built if isinstance(built, Registry) else Registry.of(built)


@contextlib.contextmanager
def _logging_kept() -> Iterator[None]:
    # Building an app configures logging for a service process; the caller keeps its own.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def http_routes(service: Service) -> tuple[str, ...]:
    """ "METHOD /path" of every documented route of the service's app, built but not started."""
    bootstrap = importlib.import_module(f"{service.package}.bootstrap")
    with _logging_kept():
        app = bootstrap.create_app(_settings(service))
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    methods = {
        path: " ".join(m.upper() for m in METHODS if m in item) for path, item in paths.items()
    }
    # Plain ASGI endpoints (prometheus_client's /metrics) are routes too, though undocumented.
    for route in app.routes:
        if type(route) is Route and route.methods and route.path not in methods:
            methods[route.path] = " ".join(m for m in sorted(route.methods) if m != "HEAD")
    return tuple(f"{verbs} {path}" for path, verbs in methods.items())


def schema_tables(service: Service) -> tuple[str, tuple[str, ...]]:
    """The service's Postgres schema and the tables its adapters declare in it."""
    schema: str = getattr(importlib.import_module(service.package), "SCHEMA", service.name)
    module = importlib.import_module(f"{service.package}.adapters.tables")
    tables = {v.name for v in vars(module).values() if isinstance(v, sa.Table)}
    metadata = {v.metadata for v in vars(module).values() if isinstance(v, sa.Table)}
    tables |= {t.name for m in metadata for t in m.tables.values() if t.schema == schema}
    return schema, tuple(sorted(tables - RUNTIME_TABLES))


def view(service: Service) -> ServiceView:
    """Everything the topology shows of `service`, read from the service itself."""
    schema, tables = schema_tables(service)
    return ServiceView(
        name=service.name,
        http=http_routes(service),
        consumes=consumed(registry_of(service)),
        schema=schema,
        tables=tables,
    )


def receivers(views: Sequence[ServiceView]) -> generate.Receivers:
    """Service -> topic -> the event types it consumes there (the AsyncAPI receive side)."""
    return {v.name: v.consumes for v in views if v.consumes}


def _short(event_type: str) -> str:
    return f"`{event_type.removeprefix('leadloop.')}`"


def _events(by_topic: dict[str, list[str]]) -> str:
    lines = [f"`{t}`: {', '.join(_short(e) for e in types)}" for t, types in by_topic.items()]
    return "<br>".join(lines) or "none"


def table(views: Sequence[ServiceView]) -> str:
    """The README's Markdown table, with what every service shares said once below it."""
    common_http = set.intersection(*(set(v.http) for v in views)) if views else set()
    rows = [
        "| service | HTTP in | consumes (topic: event types) | produces (topic: event types) "
        "| owns schema |",
        "|---|---|---|---|---|",
    ]
    for v in views:
        http = "<br>".join(f"`{r}`" for r in v.http if r not in common_http) or "none"
        owns = f"`{v.schema}`: {', '.join(v.tables)}" if v.tables else f"`{v.schema}`"
        rows.append(
            f"| {v.name} | {http} | {_events(v.consumes)} | {_events(produced(v.name))} | {owns} |"
        )
    shared = ", ".join(f"`{r}`" for r in sorted(common_http)) or "nothing more"
    runtime = " and ".join(f"`{t}`" for t in sorted(RUNTIME_TABLES))
    note = f"Every service also serves {shared}; each schema also holds the runtime's {runtime}."
    return "\n".join(rows) + "\n\n" + note


def with_table(readme: str, generated: str) -> str:
    """`readme` with the text between the topology markers replaced by `generated`."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    return f"{head}{START}\n{generated}\n{END}{tail}"


def render(views: Sequence[ServiceView]) -> dict[Path, str]:
    """The AsyncAPI document with its receive side, and the README with its table."""
    receives = generate.receive_operations(receivers(views))
    asyncapi = generate.render(receives)[generate.ASYNCAPI]
    return {generate.ASYNCAPI: asyncapi, README: with_table(README.read_text(), table(views))}


def _outdated(files: dict[Path, str]) -> list[Path]:
    return [p for p, text in files.items() if not p.exists() or p.read_text() != text]


def stale() -> list[Path]:
    """The files whose topology differs from what the services say (or that are missing)."""
    return _outdated(render([view(s) for s in SERVICES]))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `topology` command."""
    command = sub.add_parser("topology", help="write the AsyncAPI receive side and README table")
    command.add_argument("--check", action="store_true", help="fail if a file is out of date")
    command.set_defaults(func=lambda args: run(check=args.check))


def run(*, check: bool) -> int:
    """Write the topology files, or name the stale ones (exit 1) when `check`."""
    files = render([view(s) for s in SERVICES])
    outdated = _outdated(files)
    if check:
        for path in outdated:
            print(f"stale: {path.relative_to(ROOT)}: run `make schemas`", file=sys.stderr)
        return 1 if outdated else 0
    for path in outdated:
        path.write_text(files[path])
    print(f"topology: {len(outdated)} file(s) updated")
    return 0


if __name__ == "__main__":
    sys.exit(run(check="--check" in sys.argv[1:]))
