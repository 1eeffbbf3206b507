"""The four OpenAPI documents read well: readable operation ids (verb_noun, unique)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from leadloop_platform.settings import CommonSettings

from .conftest import SERVICES, build_app

METHODS = ("get", "put", "post", "delete", "patch")
READABLE = re.compile(r"^[a-z]+(_[a-z]+)+$|^(healthz|readyz)$")


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of a document."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


@pytest.fixture(params=SERVICES)
def document(request: pytest.FixtureRequest, settings: CommonSettings) -> dict[str, Any]:
    doc: dict[str, Any] = build_app(request.param, settings).openapi()
    return doc


def test_operation_ids_are_the_route_functions_names(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)), ids
    for method, path, op in operations(document):
        name = op["operationId"]
        assert READABLE.match(name), (method, path, name)
        assert "_v1_" not in name and not name.endswith(f"_{method}"), (method, path, name)


def test_the_form_submission_is_created_by_name(settings: CommonSettings) -> None:
    document = build_app("intake", settings).openapi()
    assert document["paths"]["/v1/form-submissions"]["post"]["operationId"] == (
        "create_form_submission"
    )
