"""Schemathesis against each service's own OpenAPI document: for every operation, requests
generated from the document (with the bootstrap key) never get a 5xx, and every answer is
documented: its status, its content type and its body's schema. Requests generated to break the
document (negative mode) never get a 5xx either, and are answered with a documented status."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadloop_platform.settings import CommonSettings

from .conftest import AUTH, SERVICES, build_app

# Schemathesis' own strategies trip this deprecation; nothing of ours does.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROBUSTNESS = [not_a_server_error, status_code_conformance, content_type_conformance]
# Enough to cover every documented parameter; the file takes about half a minute. For a deeper
# search: LEADLOOP_FUZZ_EXAMPLES=500 (positive; negative gets a third of it).
POSITIVE_EXAMPLES = int(os.environ.get("LEADLOOP_FUZZ_EXAMPLES", "25"))
NEGATIVE_EXAMPLES = max(10, POSITIVE_EXAMPLES // 3)


def explore(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    checks: list[schemathesis.CheckFunction],
    examples: int,
) -> str | None:
    """Run generated cases against one operation; the failures schemathesis found, if any."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case) -> None:
        # Redirects are answers too (the dashboard's sign-in and sign-out): check them as sent.
        case.call_and_validate(headers=AUTH, checks=checks, allow_redirects=False)

    try:
        exercise()
    except FailureGroup as found:
        return f"{operation.label} ({mode.value}): {found}"
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no parameters, or only free strings
        # in the path): there is no negative case to send.
        assert mode is schemathesis.GenerationMode.NEGATIVE
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_as_documented(service: str, settings: CommonSettings) -> None:
    app = build_app(service, settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode, checks, examples in (
                (schemathesis.GenerationMode.POSITIVE, CONFORMANCE, POSITIVE_EXAMPLES),
                (schemathesis.GenerationMode.NEGATIVE, ROBUSTNESS, NEGATIVE_EXAMPLES),
            ):
                found = explore(operation, mode, checks, examples)
                if found is not None:
                    failures.append(found)
    finally:
        # The app runs (lifespan included) on schemathesis' event-loop thread: stop it before
        # this test's database is dropped.
        asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
