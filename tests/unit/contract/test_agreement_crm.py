"""The agreement's optional crm section: what the CRM connectors write on a lead alert,
validated and bounded, left out of the document (and the checksum) while unset."""

from __future__ import annotations

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, AgreementInvalid, checksum, load_agreement
from leadloop_contract.agreement.diff import diff_agreements

COMMENTED = """# crm:
#   hubspot: {lead_status: NEW, lifecycle_stage: salesqualifiedlead}
#   salesforce: {lead_status: "Open - Not Contacted"}"""


def with_crm(section: str) -> str:
    """The example agreement with `section` as its crm section."""
    text = EXAMPLE_FILE.read_text()
    assert COMMENTED in text  # the example documents the section
    return text.replace(COMMENTED, section)


def test_the_example_documents_the_section_and_it_loads_when_set() -> None:
    uncommented = "\n".join(line.removeprefix("# ") for line in COMMENTED.splitlines())
    crm = load_agreement(with_crm(uncommented)).crm
    assert crm is not None and crm.hubspot is not None and crm.salesforce is not None
    assert (crm.hubspot.lead_status, crm.hubspot.lifecycle_stage) == ("NEW", "salesqualifiedlead")
    assert crm.salesforce.lead_status == "Open - Not Contacted"


def test_an_agreement_without_the_section_keeps_its_document_and_checksum() -> None:
    plain = load_agreement(EXAMPLE_FILE.read_text())
    assert plain.crm is None and "crm" not in plain.model_dump(mode="json")
    hubspot_only = load_agreement(with_crm("crm:\n  hubspot: {lead_status: OPEN}"))
    assert hubspot_only.model_dump(mode="json")["crm"] == {"hubspot": {"lead_status": "OPEN"}}
    assert checksum(hubspot_only) != checksum(plain)
    assert diff_agreements(plain, hubspot_only) == [
        "What the CRMs are told on a lead alert (lead status, lifecycle) changes."
    ]


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("crm:\n  hubspot: {lead_status: ''}", "crm.hubspot.lead_status"),
        (f"crm:\n  salesforce: {{lead_status: {'x' * 101}}}", "crm.salesforce.lead_status"),
        ('crm:\n  salesforce: {lead_status: "Open\\nNot Contacted"}', "crm.salesforce.lead_status"),
        ("crm:\n  hubspot: {lead_status: 3}", "crm.hubspot.lead_status"),
        ("crm:\n  hubspot: {owner: rep-alice}", "crm.hubspot.owner"),
        ("crm:\n  pipedrive: {lead_status: NEW}", "crm.pipedrive"),
    ],
)
def test_a_bad_value_is_refused_with_its_path(section: str, where: str) -> None:
    with pytest.raises(AgreementInvalid) as refused:
        load_agreement(with_crm(section))
    assert where in str(refused.value)
