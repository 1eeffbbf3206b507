"""A real Prometheus (Debian's `prometheus`) scrapes the four services while a lead flows to
its alert; every `/metrics` passes `promtool check metrics`; the query API returns the
hand-off latency histograms and the alert rules load."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from leadloop_cli.infra import free_port

from ..tools import require_tool
from ..waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


async def test_prometheus_scrapes_the_services_and_sees_hand_offs(
    start_service: Callable[[str], Awaitable[Any]], http: httpx.AsyncClient, tmp_path: Path
) -> None:
    prometheus, promtool = require_tool("prometheus"), require_tool("promtool")
    services = {name: await start_service(name) for name in ("scoring", "routing", "feedback")}
    services["intake"] = await start_service("intake")

    lead_id = (
        await http.post(
            f"{services['intake'].url}/v1/form-submissions",
            json={
                "email": "grace@hooli.example",
                "company": "Hooli Cloud",
                "company_size": 12000,
                "industry": "Software",
                "country": "US",
                "job_title": "VP Revenue Operations",
                "source": "paid_search",
            },
        )
    ).json()["lead_id"]
    r = await http.post(
        f"{services['intake'].url}/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "demo_request",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
    )
    assert r.status_code == 202

    async def alerted() -> bool:
        url = f"{services['routing'].url}/v1/leads/{lead_id}/assignment"
        return (await http.get(url)).status_code == 200

    await wait_for(alerted, timeout_s=60, what="the lead alert")

    for name, service in services.items():
        text = (await http.get(f"{service.url}/metrics")).text
        checked = await asyncio.to_thread(
            subprocess.run,
            [promtool, "check", "metrics"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"

    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(ROOT / "deploy/prometheus/rules/leadloop.yml")]
    config["scrape_configs"] = [
        {
            "job_name": f"leadloop-{name}",
            "static_configs": [{"targets": [service.url.removeprefix("http://")]}],
        }
        for name, service in services.items()
    ]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    server = subprocess.Popen(  # noqa: ASYNC220 - a server that outlives this call
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:

        async def query(expr: str) -> list[dict[str, Any]]:
            try:
                response = await http.get(f"{api}/query", params={"query": expr})
            except httpx.TransportError:
                return []
            if response.status_code == 503:  # still loading its TSDB: "Service Unavailable"
                return []
            assert response.status_code == 200, response.text
            body = response.json()
            result: list[dict[str, Any]] = body["data"]["result"]
            return result

        async def scraped() -> bool:
            up = await query('up{job=~"leadloop-.+"} == 1')
            buckets = await query("leadloop_sql_to_alert_seconds_bucket")
            handoff = await query("leadloop_handoff_latency_seconds_count > 0")
            return len(up) == 4 and bool(buckets) and bool(handoff)

        await wait_for(scraped, timeout_s=60, what="Prometheus to scrape the hand-off latency")
        rules = (await http.get(f"{api}/rules")).json()["data"]["groups"]
        names = {rule["name"] for group in rules for rule in group["rules"]}
        assert {"LeadloopServiceDown", "LeadloopHandoffSlow"} <= names
        for rule in (r for g in rules for r in g["rules"]):
            assert rule["health"] != "err", rule
    finally:
        server.terminate()
        server.wait(15)
        log.close()
