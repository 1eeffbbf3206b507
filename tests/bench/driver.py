"""Drives the loop through a phase and measures it: open and closed loops of lead journeys,
waiting for alerts, and each phase's figures (latency, throughput, CPU, writes per lead)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from .loadgen import ASSIGNED, CAPTURED, HAND_RAISE, SQL, Lead, Marketing, Reader, Sales
from .procs import Monitor, delta
from .stats import per_lead, rate_in_window, steady_window, summarize_ms

ALERT_TIMEOUT_S = 120.0


async def xid_and_wal(db_url: str) -> tuple[int, int]:
    """Transaction ids handed out (= write transactions, cluster-wide) and the WAL position."""
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xid, "
            "pg_current_wal_lsn() - '0/0'::pg_lsn AS wal"
        )
        assert row is not None
        return int(row["xid"]), int(row["wal"])
    finally:
        await conn.close()


class Loop:
    """The running loop: services, reader, marketing, sales, process monitor."""

    def __init__(
        self, marketing: Marketing, reader: Reader, sales: Sales, monitor: Monitor, db_url: str
    ) -> None:
        self.marketing, self.reader, self.sales = marketing, reader, sales
        self.monitor, self.db_url = monitor, db_url
        self.next_index = 0

    def take(self) -> int:
        self.next_index += 1
        return self.next_index - 1

    async def drain(self, leads: list[Lead], timeout_s: float = ALERT_TIMEOUT_S) -> None:
        """Until every lead's alert is readable and every alert has had its touch, or the
        timeout (what is left counts as missing)."""
        deadline = time.monotonic() + timeout_s

        def pending() -> bool:
            seen, sales = self.reader.seen, self.sales
            if any((ASSIGNED, lead.lead_id) not in seen for lead in leads):
                return True
            return len(sales.accepted) + len(sales.failed) < len(self.reader.alert_times)

        while pending():
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    async def open_loop(self, rate: float, count: int, phase: str) -> list[Lead]:
        """`count` leads arriving at `rate` per second, whatever the answers' pace."""
        start = time.perf_counter()
        tasks = []
        for k in range(count):
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))  # pacing
            tasks.append(asyncio.create_task(self.marketing.journey(self.take(), phase)))
        return list(await asyncio.gather(*tasks))

    async def closed_loop(self, concurrency: int, label: Callable[[], str | None]) -> list[Lead]:
        """`concurrency` workers, each with one lead in the loop at a time, while `label()` names
        a phase."""
        leads: list[Lead] = []

        async def worker() -> None:
            while (phase := label()) is not None:
                lead = await self.marketing.journey(self.take(), phase)
                leads.append(lead)
                try:
                    await self.reader.assigned(lead.lead_id, ALERT_TIMEOUT_S)
                except TimeoutError:
                    continue  # a lost alert; the integrity count at the end reports it

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return leads

    async def measure(self, phase: str, run: Callable[[], Any]) -> dict[str, Any]:
        """Run a phase; its figures, CPU per process and database writes per lead.

        `run()` returns the leads, the end of the measured window and a CPU snapshot there."""
        xid0, wal0 = await xid_and_wal(self.db_url)
        cpu0 = self.monitor.cpu()
        records0 = dict(self.reader.records)
        start = time.perf_counter()
        leads, end, cpu1 = await run()
        elapsed = end - start
        cpu = delta(cpu1, cpu0)
        await self.drain(leads)
        xid1, wal1 = await xid_and_wal(self.db_url)
        ours = [lead for lead in leads if lead.phase == phase]
        window = steady_window(start, end)
        records = {t: n - records0.get(t, 0) for t, n in self.reader.records.items()}
        alerts = sum(1 for t in self.reader.alert_times if start <= t < end)
        return {
            "leads": len(ours),
            "seconds": round(elapsed, 1),
            "alerts_per_s": round(rate_in_window(self.reader.alert_times, *window), 2),
            "window_s": round(window[1] - window[0], 1),
            "missing_alerts": sum(1 for x in ours if (ASSIGNED, x.lead_id) not in self.reader.seen),
            "latency_ms": latencies(self.reader.seen, ours),
            "cpu_s": cpu,
            "cores_used": {name: round(s / elapsed, 2) for name, s in cpu.items()},
            "per_lead": {
                # CPU between start and end over the alerts in between: less disturbed by a busy
                # machine than throughput is.
                "cpu_ms": {n: round(1000 * s / max(1, alerts), 1) for n, s in cpu.items()},
                "write_transactions": round((xid1 - xid0) / max(1, len(leads)), 1),
                "wal_kib": round((wal1 - wal0) / 1024 / max(1, len(leads)), 1),
                "records": per_lead(records, len(leads)),
            },
        }


def latencies(seen: dict[tuple[str, str], float], leads: list[Lead]) -> dict[str, Any]:
    """Form fill -> alert, hand-raise -> alert, and the hand-raise's way hop by hop."""

    def spans(frm: Callable[[Lead], float], mark: str) -> list[float]:
        return [seen[(mark, x.lead_id)] - frm(x) for x in leads if (mark, x.lead_id) in seen]

    def hop(a: str, b: str) -> list[float]:
        keys = [((a, x.lead_id), (b, x.lead_id)) for x in leads]
        return [seen[kb] - seen[ka] for ka, kb in keys if ka in seen and kb in seen]

    return {
        "form_post_to_alert": summarize_ms(spans(lambda x: x.form_at, ASSIGNED)),
        "hand_raise_post_to_alert": summarize_ms(spans(lambda x: x.hand_raise_at, ASSIGNED)),
        "form_post_to_captured_on_intake": summarize_ms(spans(lambda x: x.form_at, CAPTURED)),
        "hand_raise_post_to_event_on_intake": summarize_ms(
            spans(lambda x: x.hand_raise_at, HAND_RAISE)
        ),
        "intake_event_to_sql_on_lifecycle": summarize_ms(hop(HAND_RAISE, SQL)),
        "sql_to_alert_on_handoff": summarize_ms(hop(SQL, ASSIGNED)),
    }
