"""Salesforce Outbound Messages read into typed values, bad ones refused, and the ack."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from leadloop_connectors.salesforce import (
    ACK_BODY,
    ACK_CONTENT_TYPE,
    LeadChange,
    OpportunityChange,
    TaskChange,
    change_of,
    parse_outbound_message,
    same_id,
)
from tests.vendors.salesforce import ORG_ID, outbound_message

# The shape of the notifications() call in the Outbound Messaging WSDL
# (developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm),
# with the OpportunityNotification the WSDL page uses as its example.
DOCUMENTED_SAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D5e000000KQ2eEAG</OrganizationId>
   <ActionId>04k5e000000CaRkAAK</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5e000000KQ2e</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5e000000KQ2e</PartnerUrl>
   <Notification>
    <Id>04l0800002nrC5BAAU</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0065e00000ABCdeAAF</sf:Id>
     <sf:Amount>48000.0</sf:Amount>
     <sf:CloseDate>2026-11-27</sf:CloseDate>
     <sf:ContactId>0035e00000XyZabAAB</sf:ContactId>
     <sf:IsClosed>true</sf:IsClosed>
     <sf:IsWon>true</sf:IsWon>
     <sf:StageName>Closed Won</sf:StageName>
     <sf:Leadloop_Id__c xsi:nil="true"/>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"""


def test_the_documented_sample_is_read_into_its_typed_change() -> None:
    message = parse_outbound_message(DOCUMENTED_SAMPLE)
    assert message.organization_id == ORG_ID
    assert message.action_id == "04k5e000000CaRkAAK"
    assert message.session_id is None
    assert message.partner_url.endswith("/services/Soap/u/62.0/00D5e000000KQ2e")
    [notification] = message.notifications
    assert notification.id == "04l0800002nrC5BAAU"
    assert notification.sobject.type == "Opportunity"
    assert notification.sobject.get("Leadloop_Id__c") is None
    assert change_of(notification.sobject) == OpportunityChange(
        id="0065e00000ABCdeAAF",
        stage="Closed Won",
        amount=Decimal("48000.0"),
        close_date=date(2026, 11, 27),
        is_won=True,
        is_closed=True,
        account_id=None,
        contact_id="0035e00000XyZabAAB",
        owner_id=None,
        leadloop_id=None,
    )


def test_lead_and_task_notifications_in_one_message() -> None:
    body = outbound_message(
        [
            (
                "Lead",
                {
                    "Id": "00Q5e0000000001AAA",
                    "Status": "Working - Contacted",
                    "OwnerId": "0055e000001AbCdAAK",
                    "IsConverted": False,
                    "Leadloop_Id__c": "lead-acme-dental",
                    "Email": "ann@acme.example",
                },
            ),
            (
                "Task",
                {
                    "Id": "00T5e0000000001AAA",
                    "WhoId": "00Q5e0000000001AAA",
                    "Status": "Completed",
                    "IsClosed": True,
                    "TaskSubtype": "Call",
                    "Subject": "Call <Ann> & team",
                },
            ),
        ]
    )
    first, second = parse_outbound_message(body).notifications
    lead, task = change_of(first.sobject), change_of(second.sobject)
    assert isinstance(lead, LeadChange) and isinstance(task, TaskChange)
    assert (lead.status, lead.owner_id, lead.leadloop_id, lead.is_converted) == (
        "Working - Contacted",
        "0055e000001AbCdAAK",
        "lead-acme-dental",
        False,
    )
    assert (task.who_id, task.is_closed, task.task_subtype, task.subject) == (
        "00Q5e0000000001AAA",
        True,
        "Call",
        "Call <Ann> & team",
    )


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE"),
        (b"<x/>", "not a SOAP envelope"),
        (b"<x", "not well-formed"),
        ("<x>é</x>".encode("latin-1"), "not UTF-8"),
        (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/>'
            b"</e:Envelope>",
            "no notifications",
        ),
    ],
)
def test_bad_bodies_are_refused_naming_what_is_wrong(body: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_outbound_message(body)


def test_an_entity_hidden_after_the_prolog_is_refused_too() -> None:
    body = DOCUMENTED_SAMPLE.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0"?>\n<!doctype soapenv:Envelope [<!ENTITY x "y">]>',
    )
    with pytest.raises(ValueError, match="DOCTYPE or ENTITY"):
        parse_outbound_message(body)


def test_missing_organization_id_and_untyped_sobject_are_refused() -> None:
    without_org = DOCUMENTED_SAMPLE.replace(
        b"<OrganizationId>00D5e000000KQ2eEAG</OrganizationId>", b""
    )
    with pytest.raises(ValueError, match="without OrganizationId"):
        parse_outbound_message(without_org)
    untyped = DOCUMENTED_SAMPLE.replace(b'xsi:type="sf:Opportunity"', b"")
    with pytest.raises(ValueError, match="sObject type"):
        parse_outbound_message(untyped)


def test_an_unreadable_amount_and_an_unread_type_are_refused() -> None:
    bad_amount = parse_outbound_message(DOCUMENTED_SAMPLE.replace(b"48000.0", b"lots"))
    with pytest.raises(ValueError, match="Amount"):
        change_of(bad_amount.notifications[0].sobject)
    account = parse_outbound_message(outbound_message([("Account", {"Id": "0015e0000000001AAA"})]))
    with pytest.raises(ValueError, match="Account is not read"):
        change_of(account.notifications[0].sobject)


def test_the_ack_is_the_notifications_response_salesforce_expects() -> None:
    root = ET.fromstring(ACK_BODY)
    soap = "{http://schemas.xmlsoap.org/soap/envelope/}"
    ack = root.find(
        f"{soap}Body/{{http://soap.sforce.com/2005/09/outbound}}notificationsResponse/"
        "{http://soap.sforce.com/2005/09/outbound}Ack"
    )
    assert root.tag == f"{soap}Envelope"
    assert ack is not None and ack.text == "true"
    assert ACK_CONTENT_TYPE.startswith("text/xml")


def test_org_ids_compare_on_their_first_15_characters() -> None:
    assert same_id("00D5e000000KQ2e", ORG_ID)
    assert same_id(ORG_ID, ORG_ID)
    assert not same_id("00D5e000000KQ2E", ORG_ID)  # 15-character ids are case-sensitive
    assert not same_id("00D5e000000KQ2f", ORG_ID)
    assert not same_id("", ORG_ID)
    assert not same_id("00D5e000000KQ2eEA", ORG_ID)
