"""/metrics is prometheus_client's own exposition: OpenMetrics and gzip when asked for, and the
counters a dashboard or alert reads exist at 0 before the first event."""

from __future__ import annotations

import gzip

from leadloop_events.handoff import LeadAssigned
from leadloop_events.lifecycle import LeadStageChanged
from leadloop_platform.settings import CommonSettings

from .conftest import build_app, running

QUIET = {"run_relay": False, "run_consumer": False, "run_workers": False}


async def test_openmetrics_and_gzip_are_negotiated(settings: CommonSettings) -> None:
    app = build_app("routing", settings, **QUIET)
    async with running(app, "http://routing") as http:
        plain = await http.get("/metrics")
        assert plain.status_code == 200
        assert plain.headers["content-type"].startswith("text/plain")
        om = await http.get("/metrics", headers={"Accept": "application/openmetrics-text"})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
        assert om.text.rstrip().endswith("# EOF")
        async with http.stream("GET", "/metrics", headers={"Accept-Encoding": "gzip"}) as zipped:
            assert zipped.headers["content-encoding"] == "gzip"
            raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
        assert b"leadloop_webhook_deliveries_total" in gzip.decompress(raw)


async def test_known_counters_start_at_zero(settings: CommonSettings) -> None:
    app = build_app("routing", settings, **QUIET)
    lifecycle = settings.topic(LeadStageChanged.topic)
    handoff = settings.topic(LeadAssigned.topic)
    async with running(app, "http://routing") as http:
        text = (await http.get("/metrics")).text
    # The topic prefix is this test's own, so nothing has counted on these series yet.
    for outcome in ("ok", "dead_lettered"):
        series = (
            f'leadloop_events_consumed_total{{outcome="{outcome}",service="routing",'
            f'topic="{lifecycle}",type="{LeadStageChanged.event_type}"}} 0.0'
        )
        assert series in text, series
    published = (
        f'leadloop_events_published_total{{outcome="parked",service="routing",'
        f'topic="{handoff}",type="{LeadAssigned.event_type}"}} 0.0'
    )
    assert published in text
    assert f'leadloop_dlq_records_total{{service="routing",topic="{lifecycle}"}} 0.0' in text
    assert 'leadloop_webhook_deliveries_total{outcome="error"}' in text
