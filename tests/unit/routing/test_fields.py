"""The field copy behind routing's row and API translations."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from leadloop_routing.domain.fields import fields_of, from_attributes


@dataclass(frozen=True)
class Sample:
    name: str
    tags: tuple[str, ...]
    note: str | None = None


def test_fields_of_copies_by_name_converts_the_named_and_leaves_out_the_rest() -> None:
    sample = Sample("ACME-DENTAL", ("dach",), "secret")
    assert fields_of(sample) == {"name": "ACME-DENTAL", "tags": ("dach",), "note": "secret"}
    assert fields_of(sample, leave_out={"note"}, tags=list(sample.tags)) == {
        "name": "ACME-DENTAL",
        "tags": ["dach"],
    }


def test_from_attributes_reads_same_named_attributes_and_takes_the_given_ones() -> None:
    row = SimpleNamespace(name="ACME-DENTAL", tags=["dach"], note=None, extra_column=1)
    assert from_attributes(Sample, row, tags=tuple(row.tags)) == Sample("ACME-DENTAL", ("dach",))


def test_a_misspelt_field_is_refused_not_dropped() -> None:
    with pytest.raises(TypeError, match="no field tagz"):
        fields_of(Sample("ACME-DENTAL", ()), tagz=[])
    with pytest.raises(TypeError, match="no field tagz"):
        from_attributes(Sample, SimpleNamespace(name="x", tags=[], note=None), tagz=())
