"""Dataclass fields copied by name. A row, an API body and a domain object mostly share their
field names, so each translation names only the fields it converts and copies the rest."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def fields_of(
    obj: DataclassInstance, *, leave_out: Collection[str] = (), **converted: Any
) -> dict[str, Any]:
    """`obj`'s fields by name (not deep-copied), those in `converted` replaced by their value."""
    names = [f.name for f in fields(obj)]
    _known(type(obj), names, converted)
    return {
        n: converted[n] if n in converted else getattr(obj, n) for n in names if n not in leave_out
    }


def from_attributes(cls: type[T], source: Any, **converted: Any) -> T:
    """A `cls` from the same-named attributes of `source` (a row, a request body), those in
    `converted` given instead."""
    names = [f.name for f in fields(cls)]
    _known(cls, names, converted)
    return cls(**{n: converted[n] if n in converted else getattr(source, n) for n in names})


def _known(cls: type, names: list[str], converted: dict[str, Any]) -> None:
    # a misspelt field would otherwise be dropped without a word
    unknown = set(converted) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
