"""Intake's schema: leads and their identities, raw submissions, activities, idempotency keys."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from leadloop_contract.values import MAX_EXTERNAL_ID
from leadloop_db.tables import outbox_table, processed_events_table
from leadloop_intake import SCHEMA

metadata = sa.MetaData(schema=SCHEMA)
TS = sa.DateTime(timezone=True)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("lead_id", sa.String(36), primary_key=True),
    sa.Column("email_normalized", sa.String(320), unique=True),
    sa.Column("email", sa.String(320)),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("company", sa.String(200)),
    sa.Column("job_title", sa.String(200)),
    sa.Column("company_size", sa.Integer),
    sa.Column("industry", sa.String(200)),
    sa.Column("country", sa.String(2)),
    sa.Column("phone", sa.String(50)),
    sa.Column("first_source", sa.String(100)),
    sa.Column("first_campaign", sa.String(200)),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("erased_at", TS),
)

# A lead's ids in other systems: one lead per (system, id), one id per system per lead (the
# latest submission's wins); intake resolves a lead by them as well as by email.
lead_identities = sa.Table(
    "lead_identities",
    metadata,
    sa.Column("system", sa.String(20), primary_key=True),
    sa.Column("external_id", sa.String(MAX_EXTERNAL_ID), primary_key=True),
    sa.Column("lead_id", sa.String(36), sa.ForeignKey(leads.c.lead_id), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("lead_id", "system", name="uq_lead_identities_lead_system"),
)

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("submission_id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), sa.ForeignKey(leads.c.lead_id), nullable=False, index=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("source", sa.String(100)),
    sa.Column("campaign", sa.String(200)),
    sa.Column("form_id", sa.String(200)),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("submitted_at", TS, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("correlation_id", sa.String(128)),
)

activities = sa.Table(
    "activities",
    metadata,
    sa.Column("activity_id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), sa.ForeignKey(leads.c.lead_id), nullable=False, index=True),
    sa.Column("activity_type", sa.String(40), nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("url", sa.String(2048)),
    sa.Column("asset", sa.String(200)),
    sa.Column("campaign", sa.String(200)),
    sa.Column("properties", JSONB, nullable=False),
    sa.Column("received_at", TS, nullable=False),
)

# A key is the caller's own (an API key id, or a signed webhook's sender): one caller's key
# never replays another's answer. Keys expire (LEADLOOP_IDEMPOTENCY_TTL_HOURS).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("caller", sa.String(100), primary_key=True),
    sa.Column("scope", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", JSONB, nullable=False),
    sa.Column("lead_id", sa.String(36), index=True),
    sa.Column("created_at", TS, nullable=False, index=True),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("import_id", sa.String(36), primary_key=True),
    sa.Column("source", sa.String(100)),
    sa.Column("campaign", sa.String(200)),
    sa.Column("rows_accepted", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    # The leads new to intake, the first rejected rows ({"line", "errors"}; at most
    # csvimport.MAX_ERRORS_REPORTED) and why a background import stopped, if it did.
    sa.Column("new_leads", sa.Integer, nullable=False, server_default="0"),
    sa.Column("errors", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("failure", sa.Text),
    # The writer's heartbeat (each batch's commit) and the file line its last batch ended on:
    # a running import whose heartbeat is too old lost its writer (LEADLOOP_IMPORT_STALE_AFTER_S).
    sa.Column("updated_at", TS),
    sa.Column("last_line", sa.Integer),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
