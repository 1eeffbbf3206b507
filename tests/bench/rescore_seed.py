"""N leads written straight into scoring's tables, as if scored under the agreement in force:
varied profiles (size, country, industry, title) and a realistic activity history each.

Each lead has 0 to 14 activities over the past 120 days (page views and email opens most, a
hand-raise for one in twenty), some lead are MQLs, SQLs or recycled; a third are due for no
decay re-score. Written by generate_series in chunks, then analysed.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .seeding import in_chunks

CHUNK = 50_000
LEADS = sa.text(
    """
    INSERT INTO scoring.leads (
        lead_id, profile, stage, stage_changed_at, fit, interest, total, grade, interest_band,
        breakdown, agreement_version, sources, campaigns, first_source, first_campaign,
        captured_at, recycled_at, next_rescore_at, updated_at)
    SELECT 'rescore-' || g,
           jsonb_build_object(
               'email', 'person' || g || '@company' || (g % 5000) || '.example',
               'company', 'Company ' || (g % 5000),
               'company_size', (ARRAY[8, 30, 120, 640, 2400, 9000])[1 + g % 6],
               'country', (ARRAY['DE', 'SE', 'US', 'FR', 'GB', 'BR', 'CA'])[1 + g % 7],
               'industry', (ARRAY['Software', 'Healthcare', 'Retail', 'Logistics'])[1 + g % 4],
               'job_title', (ARRAY['Head of Operations', 'Engineer', 'VP Sales',
                                   'Operations Manager', 'Student'])[1 + g % 5]),
           s.stage, now() - interval '20 days', 40, 10, 50, 'B', 'low', '[]'::jsonb, :version,
           ARRAY['webinar'], ARRAY['q4-campaign'], 'webinar', 'q4-campaign',
           now() - interval '120 days',
           CASE WHEN s.stage = 'recycled' THEN now() - interval '30 days' END,
           CASE WHEN g % 3 = 0 THEN NULL ELSE now() + interval '1 day' * (g % 40) END,
           now()
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
    CROSS JOIN LATERAL (
        SELECT (ARRAY['lead', 'lead', 'mql', 'mql', 'sql', 'recycled'])[1 + g % 6] AS stage
    ) AS s
    """
)
ACTIVITIES = sa.text(
    """
    INSERT INTO scoring.activities (activity_id, lead_id, activity_type, occurred_at, url,
                                    campaign)
    SELECT 'rescore-' || g || '-' || a, 'rescore-' || g,
           (ARRAY['page_view', 'page_view', 'page_view', 'email_open', 'email_open',
                  'email_click', 'pricing_page_view', 'content_download', 'webinar_registered',
                  'webinar_attended'])[1 + (g * 7 + a * 3) % 10],
           now() - interval '1 hour' * ((g * 31 + a * 977) % 2880),
           'https://www.leadloop.example/page/' || a, 'q4-campaign'
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
    CROSS JOIN LATERAL generate_series(1, (g * 13) % 15) AS a
    UNION ALL
    SELECT 'rescore-' || g || '-hand', 'rescore-' || g, 'demo_request',
           now() - interval '1 hour' * (g % 700), NULL, 'demo-page'
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
    WHERE g % 20 = 0
    """
)


async def seed(db_url: str, count: int, version: str) -> float:
    """Write `count` leads scored under `version` and their activities; seconds it took."""

    async def write(conn: AsyncConnection, first: int, last: int) -> None:
        bounds = {"first": first, "last": last}
        await conn.execute(LEADS, bounds | {"version": version})
        await conn.execute(ACTIVITIES, bounds)

    progress = "seeded {last:,} of {count:,} leads"
    tables = ["scoring.leads", "scoring.activities"]
    return await in_chunks(db_url, count, CHUNK, write, progress, analyze=tables)
