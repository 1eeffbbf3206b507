"""The topology on one page: read from the services' registries and apps, checked like the
schemas (the README table and the AsyncAPI receive side fail the build when stale)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leadloop_cli import topology
from leadloop_cli.services import Service
from leadloop_db.uow import UnitOfWork
from leadloop_events import topics
from leadloop_events.envelope import CloudEvent
from leadloop_events.feedback import DealClosed
from leadloop_events.intake import LeadCaptured
from leadloop_runtime import Registry


async def capture(uow: UnitOfWork, event: CloudEvent, data: LeadCaptured) -> None:
    """A handler that is never run: the topology reads only what is registered."""


async def close_deal(uow: UnitOfWork, event: CloudEvent, data: DealClosed) -> None:
    """A handler that is never run: the topology reads only what is registered."""


def test_the_readme_table_and_the_asyncapi_receive_side_are_current() -> None:
    stale = topology.stale()
    assert not stale, f"stale topology in {stale}: run `make schemas`"


def test_what_a_service_consumes_is_what_its_registry_handles() -> None:
    registry: Registry[UnitOfWork] = Registry()
    registry.on(DealClosed)(close_deal)
    registry.on(LeadCaptured)(capture)
    assert topology.consumed(registry) == {
        topics.INTAKE: ["leadloop.lead.captured.v1"],
        topics.FEEDBACK: ["leadloop.deal.closed.v1"],
    }


def test_what_a_service_produces_is_every_type_of_the_topics_it_is_the_producer_of() -> None:
    assert topology.produced("scoring") == {
        topics.LIFECYCLE: [
            "leadloop.lead.scored.v1",
            "leadloop.lead.stage_changed.v1",
            "leadloop.agreement.published.v1",
        ]
    }
    assert topology.produced("nobody") == {}


ACME = topology.ServiceView(
    name="acme",
    http=("POST /v1/acme", "GET /healthz"),
    consumes={topics.INTAKE: ["leadloop.lead.captured.v1"]},
    schema="acme",
    tables=("leads",),
)
QUIET = topology.ServiceView(
    name="intake", http=("GET /healthz",), consumes={}, schema="q", tables=()
)


def test_the_table_has_a_row_per_service_and_says_once_what_all_serve() -> None:
    text = topology.table([ACME, QUIET])
    assert (
        "| acme | `POST /v1/acme` | `leads.intake`: `lead.captured.v1` | none | `acme`: leads |"
        in text
    )
    assert "| intake | none | none | `leads.intake`: `lead.captured.v1`, " in text
    assert "Every service also serves `GET /healthz`;" in text
    assert topology.receivers([ACME, QUIET]) == {"acme": ACME.consumes}


def test_the_table_goes_between_the_markers_and_nowhere_else() -> None:
    readme = f"# title\n{topology.START}\nold table\n{topology.END}\nafter\n"
    assert topology.with_table(readme, "new") == (
        f"# title\n{topology.START}\nnew\n{topology.END}\nafter\n"
    )
    with pytest.raises(ValueError, match="markers"):
        topology.with_table("# no markers\n", "new")


def test_a_registry_is_built_with_the_settings_its_signature_asks_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "leadloop_acme"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text("class Settings:\n    consumes_deals = True\n")
    (package / "handlers.py").write_text(
        textwrap.dedent(
            """
            from leadloop_events.feedback import DealClosed
            from leadloop_runtime import Registry
            from tests.unit.test_topology import close_deal


            def registry(settings, journal=None):
                registry = Registry()
                if settings.consumes_deals and journal is None:
                    registry.on(DealClosed)(close_deal)
                return registry
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = topology.registry_of(Service("acme", "leadloop_acme", 8099))
    assert [m.event_type for m in registry.event_types()] == ["leadloop.deal.closed.v1"]


def test_a_service_without_a_registry_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "leadloop_silent"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handlers.py").write_text("HANDLERS = {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(LookupError, match=r"leadloop_silent\.handlers has no registry"):
        topology.registry_of(Service("silent", "leadloop_silent", 8098))
