"""The agreement's optional `crm` section: what the CRM connectors write on a lead alert (the
HubSpot contact's lead status and lifecycle stage, the Salesforce Lead's Status). Each value
left out falls back to routing's setting (LEADLOOP_HUBSPOT_LEAD_STATUS, _LIFECYCLE_STAGE,
LEADLOOP_SALESFORCE_LEAD_STATUS); a value set here wins over the setting."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from leadloop_contract.agreement.routing import Strict, Text

CrmValue = Annotated[Text, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A CRM picklist value, as the CRM's API names it (one line, at most 100 characters)."""


def _unset(value: Any) -> bool:
    # Unset values stay out of the document: an agreement without them keeps its checksum.
    return value is None


class HubSpotMapping(Strict):
    """What a HubSpot contact gets on a lead alert (internal values, not labels)."""

    lead_status: CrmValue | None = Field(
        default=None, description="hs_lead_status, e.g. NEW, OPEN, IN_PROGRESS", exclude_if=_unset
    )
    lifecycle_stage: CrmValue | None = Field(
        default=None,
        description="lifecyclestage, e.g. salesqualifiedlead (a custom stage by its id)",
        exclude_if=_unset,
    )


class SalesforceMapping(Strict):
    """What a Salesforce Lead gets on a lead alert."""

    lead_status: CrmValue | None = Field(
        default=None,
        description="the Lead's Status picklist value, e.g. 'Open - Not Contacted'",
        exclude_if=_unset,
    )


class CrmMapping(Strict):
    """What the CRMs are told on a lead alert, per CRM (each optional)."""

    hubspot: HubSpotMapping | None = Field(default=None, exclude_if=_unset)
    salesforce: SalesforceMapping | None = Field(default=None, exclude_if=_unset)
