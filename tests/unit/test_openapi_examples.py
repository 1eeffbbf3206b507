"""Every operation of the four OpenAPI documents shows an example (issue #14, item 11): of its
request body, in each media type, and of its success response's body; each example is valid
against the schema it illustrates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI

from leadloop_feedback.bootstrap import create_app as create_feedback
from leadloop_feedback.config import Settings as FeedbackSettings
from leadloop_intake.bootstrap import create_app as create_intake
from leadloop_intake.config import Settings as IntakeSettings
from leadloop_routing.bootstrap import create_app as create_routing
from leadloop_routing.config import Settings as RoutingSettings
from leadloop_scoring.bootstrap import create_app as create_scoring
from leadloop_scoring.config import Settings as ScoringSettings

KEY = "unit-test-bootstrap-key-0123456789"
NOWHERE = "postgresql://nobody@127.0.0.1:1/none"
METHODS = ("get", "put", "post", "delete", "patch")
SUCCESS = ("200", "201", "202", "204")
APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": lambda: create_intake(IntakeSettings(bootstrap_api_key=KEY, database_url=NOWHERE)),
    "scoring": lambda: create_scoring(ScoringSettings(bootstrap_api_key=KEY, database_url=NOWHERE)),
    "routing": lambda: create_routing(RoutingSettings(bootstrap_api_key=KEY, database_url=NOWHERE)),
    "feedback": lambda: create_feedback(
        FeedbackSettings(bootstrap_api_key=KEY, database_url=NOWHERE)
    ),
}
Example = tuple[str, Any, dict[str, Any]]
"""Where an example is shown, the example, and the schema it must be valid against."""


@pytest.fixture(scope="module", params=list(APPS))
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    doc: dict[str, Any] = APPS[request.param]().openapi()
    return doc


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a `$ref` points at (within the document), or the schema itself."""
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def examples_of(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """A media type's examples: its own, else its schema's (the model's)."""
    if "example" in media:
        return [media["example"]]
    if media.get("examples"):
        return [e["value"] for e in media["examples"].values()]
    return of_schema(document, media.get("schema", {}))


def of_schema(document: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """A schema's examples: its own, each alternative's of a union, or one item's in a list."""
    schema = resolve(document, schema)
    if schema.get("examples"):
        return list(schema["examples"])
    alternatives = schema.get("anyOf") or schema.get("oneOf") or []
    found = [of_schema(document, alternative) for alternative in alternatives]
    if found and all(found):
        return [example for examples in found for example in examples]
    items = of_schema(document, schema["items"]) if schema.get("type") == "array" else []
    return [[items[0]]] if items else []


def shown(document: dict[str, Any], op: dict[str, Any]) -> Iterator[Example | str]:
    """Every example an operation shows, or (a string) what lacks one."""
    where = f"{op['operationId']}"
    bodies = [("request", op.get("requestBody", {}).get("content", {}))]
    bodies += [(s, op["responses"][s].get("content", {})) for s in SUCCESS if s in op["responses"]]
    for part, content in bodies:
        for media_type, media in content.items():
            found = examples_of(document, media)
            if not found:
                yield f"{where}: {part} {media_type} has no example"
            for example in found:
                yield f"{where} {part} {media_type}", example, media.get("schema", {})


def operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every operation of the document."""
    for item in document["paths"].values():
        for method in METHODS:
            if method in item:
                yield item[method]


def test_every_operation_shows_its_bodies_by_example(document: dict[str, Any]) -> None:
    missing = [
        found
        for op in operations(document)
        for found in shown(document, op)
        if isinstance(found, str)
    ]
    assert not missing, "\n".join(missing)


def test_every_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    invalid: list[str] = []
    for op in operations(document):
        for found in shown(document, op):
            if isinstance(found, str):
                continue
            where, example, schema = found
            validator = jsonschema_rs.Draft202012Validator(
                schema | {"components": document["components"]}, validate_formats=True
            )
            invalid += [
                f"{where}: {e.message} at {e.instance_path}" for e in validator.iter_errors(example)
            ]
    assert not invalid, "\n".join(invalid)


def test_the_metrics_scrape_is_documented_with_an_example(document: dict[str, Any]) -> None:
    scrape = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    example = scrape["text/plain"]["example"]
    assert "# TYPE" in example
