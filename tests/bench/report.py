"""The loop benchmark's result: the JSON document and the printed table."""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path
from typing import Any

import psutil

from .stats import ratio
from .sweep import format_curve, services_cpu_ms


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def assemble(
    args: argparse.Namespace,
    result: dict[str, Any],
    chain: dict[str, Any],
    commits: dict[str, Any],
    usage: dict[str, dict[str, Any]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    setup: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured, the ratios to the baselines, and what it was measured on."""
    rate, sat = result["phases"]["rate"], result["phases"]["saturation"]
    writes = sat["per_lead"]["write_transactions"]
    ceiling = commits["commits_per_s"] / writes if writes else None
    raised, chain_ms = rate["latency_ms"]["hand_raise_post_to_alert"], chain["latency_ms"]
    form = rate["latency_ms"]["form_post_to_alert"]
    records_per_s = sat["alerts_per_s"] * sum(sat["per_lead"]["records"].values())
    # What the services, broker and Postgres need per lead (not the load generator).
    cpu_ms = services_cpu_ms(sat["per_lead"]["cpu_ms"])
    cpu_bound = 1000 * (os.cpu_count() or 1) / cpu_ms if cpu_ms else None
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "settings": {
            "rate_per_s": result["phases"]["rate"]["rate_per_s"],
            "concurrency": args.concurrency or None,  # None: swept (see "sweep")
            "in_flight_at_saturation": sat["in_flight"],
            "duration_s": args.duration,
            "leads_cap": args.leads or None,
            "profile_seconds": args.profile_seconds,
            **setup,  # the broker's name, whether the producers were idempotent
            "service_log_level": "WARNING, no access log",
        },
        **result,
        "processes": usage,
        "baselines": {"kafka_chain": chain, "postgres_commits": commits},
        "ratios": {
            "saturation_leads_per_s_to_chain_messages_per_s": ratio(
                sat["alerts_per_s"], chain["messages_per_s"]
            ),
            "saturation_records_per_s_on_3_topics_to_chain_messages_per_s": ratio(
                records_per_s, chain["messages_per_s"]
            ),
            "saturation_leads_per_s_to_postgres_commits_per_s": ratio(
                sat["alerts_per_s"], commits["commits_per_s"]
            ),
            "postgres_bound_leads_per_s": round(ceiling, 1) if ceiling else None,
            "cpu_ms_per_lead_without_loadgen": round(cpu_ms, 1),
            "cpu_bound_leads_per_s": round(cpu_bound, 1) if cpu_bound else None,
            "saturation_leads_per_s_to_cpu_bound": ratio(sat["alerts_per_s"], cpu_bound),
            "saturation_leads_per_s_to_postgres_bound": ratio(sat["alerts_per_s"], ceiling),
            "hand_raise_p50_to_chain_p50": ratio(raised.get("p50"), chain_ms.get("p50")),
            "hand_raise_p99_to_chain_p99": ratio(raised.get("p99"), chain_ms.get("p99")),
            "form_post_p50_to_chain_p50": ratio(form.get("p50"), chain_ms.get("p50")),
        },
    }


def _lat(summary: dict[str, Any]) -> str:
    if not summary.get("count"):
        return "n/a"
    return " / ".join(f"{summary[k]:.0f}" for k in ("p50", "p90", "p99", "max"))


def print_table(r: dict[str, Any]) -> None:
    """The figures a reader wants first, one line each."""
    m, rate, sat = r["machine"], r["phases"]["rate"], r["phases"]["saturation"]
    chain, pg = r["baselines"]["kafka_chain"], r["baselines"]["postgres_commits"]
    print(f"\nmachine: {m['cpus']} cores, {m['cpu_model']}, {m['memory_gib']} GiB; load average")
    print(f"  before {m['load_average_before']}, after {m['load_average_after']}")
    idempotent = "on" if r["settings"].get("idempotent_producer") else "off"
    print(f"broker: {r['settings']['broker']}; idempotent producer {idempotent}")
    w, c = 40, 28
    print(f"\n{'leadloop, whole loop':<{w}}{'steady rate':>{c}}{'saturation':>{c}}")
    setting = f"{sat['in_flight']} in flight"
    print(f"{'  setting':<{w}}{str(r['settings']['rate_per_s']) + '/s':>{c}}{setting:>{c}}")
    for label, key in (("leads", "leads"), ("alerts per second (steady window)", "alerts_per_s")):
        print(f"{'  ' + label:<{w}}{rate[key]:>{c}}{sat[key]:>{c}}")
    print(f"{'  latency ms, p50 / p90 / p99 / max:':<{w}}")
    for key in rate["latency_ms"]:
        label = "    " + key.replace("_", " ")
        print(
            f"{label:<{w}}{_lat(rate['latency_ms'][key]):>{c}}{_lat(sat['latency_ms'][key]):>{c}}"
        )
    for key in ("write_transactions", "wal_kib"):
        label = "  " + key.replace("_", " ") + " per lead"
        print(f"{label:<{w}}{rate['per_lead'][key]:>{c}}{sat['per_lead'][key]:>{c}}")
    print("\n" + format_curve(r["sweep"]))
    print("\nbaselines, same machine, same run")
    print(f"  bare aiokafka chain, {chain['hops']} hops, {chain['payload_bytes']} B messages:")
    print(f"    latency ms at {chain['latency_rate_per_s']:.0f}/s  {_lat(chain['latency_ms'])}")
    print(f"    messages per second at saturation     {chain['messages_per_s']}")
    print(f"  Postgres INSERT + COMMIT, {pg['connections']} connections: {pg['commits_per_s']}/s")
    print(f"    commit ms {_lat(pg['commit_ms'])}; {pg['settings']}")
    print("\nratios")
    for key, value in r["ratios"].items():
        print(f"  {key.replace('_', ' '):<{w + 14}}{value}")
    print(
        f"\n{'process':<12}{'rate cpu s':>11}{'cores':>7}{'sat cpu s':>11}{'cores':>7}"
        f"{'ms/lead':>9}{'run cpu s':>11}{'peak MiB':>10}"
    )
    for name, use in r["processes"].items():
        print(
            f"{name:<12}{rate['cpu_s'].get(name, 0):>11}{rate['cores_used'].get(name, 0):>7}"
            f"{sat['cpu_s'].get(name, 0):>11}{sat['cores_used'].get(name, 0):>7}"
            f"{sat['per_lead']['cpu_ms'].get(name, 0):>9}{use['cpu_s']:>11}{use['peak_mib']:>10}"
        )
    prof = r["profile"]
    print(
        f"\nprofile of {prof.get('service')} at saturation: {prof.get('file', prof.get('error'))}"
    )
    if "samples" in prof:
        print(f"  {prof['samples']} samples; by package (self): {prof['by_package_self']}")
        for frame, count in prof["top_self"][:8]:
            print(f"  {100 * count / max(1, prof['samples']):5.1f}% self  {frame}")
        for frame, count in prof["top_inclusive"][:10]:
            print(f"  {100 * count / max(1, prof['samples']):5.1f}% incl  {frame}")
    print(f"\nintegrity: {r['integrity']}")
    print(f"logs: {r['logs']}")
