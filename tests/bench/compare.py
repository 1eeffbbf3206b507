"""The loop bench's runs side by side: one row per figure, one column per broker, and the
Kafka ÷ Tansu ratio when both ran. Pure (no I/O), so tests/unit/test_bench_math.py checks it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from .stats import ratio

Result = Mapping[str, Any]
Figure = float | int | bool | str | None


def at(result: Result, *path: str) -> Any:
    """result[path[0]][path[1]]...; None where a key is missing (a latency with no samples)."""
    value: Any = result
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _latency(phase: str, span: str, q: str) -> Callable[[Result], Figure]:
    return lambda r: at(r, "phases", phase, "latency_ms", span, q)


def _ratio(name: str) -> Callable[[Result], Figure]:
    return lambda r: at(r, "ratios", name)


def _load(when: str) -> Callable[[Result], Figure]:
    def figure(r: Result) -> Figure:
        load = at(r, "machine", f"load_average_{when}")
        return " ".join(f"{x:.2f}" for x in load) if load else None

    return figure


RAISE, FORM = "hand_raise_post_to_alert", "form_post_to_alert"
CHAIN = ("baselines", "kafka_chain")
COMMITS = ("baselines", "postgres_commits")
# (label, figure, compared): compared rows get the Kafka ÷ Tansu ratio.
ROWS: tuple[tuple[str, Callable[[Result], Figure], bool], ...] = (
    ("idempotent producer (detected)", lambda r: at(r, "settings", "idempotent_producer"), False),
    ("heavy leads/s at saturation", lambda r: at(r, "phases", "saturation", "alerts_per_s"), True),
    (
        "  leads in flight (best sweep step)",
        lambda r: at(r, "phases", "saturation", "in_flight"),
        False,
    ),
    ("steady rate, leads/s offered", lambda r: at(r, "phases", "rate", "rate_per_s"), True),
    ("hand-off ms p50, steady (hand-raise POST)", _latency("rate", RAISE, "p50"), True),
    ("hand-off ms p99, steady (hand-raise POST)", _latency("rate", RAISE, "p99"), True),
    ("hand-off ms p50, steady (form-fill POST)", _latency("rate", FORM, "p50"), True),
    ("hand-off ms p99, steady (form-fill POST)", _latency("rate", FORM, "p99"), True),
    ("hand-off ms p50, saturation (hand-raise)", _latency("saturation", RAISE, "p50"), True),
    ("hand-off ms p99, saturation (hand-raise)", _latency("saturation", RAISE, "p99"), True),
    ("CPU ms per lead (services+broker+Postgres)", _ratio("cpu_ms_per_lead_without_loadgen"), True),
    (
        "  of which the broker",
        lambda r: at(r, "phases", "saturation", "per_lead", "cpu_ms", "broker"),
        True,
    ),
    ("broker peak memory MiB", lambda r: at(r, "processes", "broker", "peak_mib"), True),
    (
        "write transactions per lead",
        lambda r: at(r, "phases", "saturation", "per_lead", "write_transactions"),
        True,
    ),
    ("baseline: bare chain msg/s at saturation", lambda r: at(r, *CHAIN, "messages_per_s"), True),
    ("baseline: bare chain ms p50 at 100/s", lambda r: at(r, *CHAIN, "latency_ms", "p50"), True),
    ("baseline: bare chain ms p99 at 100/s", lambda r: at(r, *CHAIN, "latency_ms", "p99"), True),
    ("baseline: Postgres commits/s", lambda r: at(r, *COMMITS, "commits_per_s"), True),
    ("leads/s ÷ chain msg/s", _ratio("saturation_leads_per_s_to_chain_messages_per_s"), True),
    (
        "records/s ÷ chain msg/s",
        _ratio("saturation_records_per_s_on_3_topics_to_chain_messages_per_s"),
        True,
    ),
    ("hand-off p50 ÷ chain p50 (steady)", _ratio("hand_raise_p50_to_chain_p50"), True),
    ("hand-off p99 ÷ chain p99 (steady)", _ratio("hand_raise_p99_to_chain_p99"), True),
    ("CPU-bound leads/s", _ratio("cpu_bound_leads_per_s"), True),
    ("leads/s ÷ CPU bound", _ratio("saturation_leads_per_s_to_cpu_bound"), True),
    ("leads/s ÷ Postgres bound", _ratio("saturation_leads_per_s_to_postgres_bound"), True),
    ("leads without an alert", lambda r: at(r, "integrity", "leads_without_alert"), False),
    ("duplicate alerts", lambda r: at(r, "integrity", "duplicate_alerts"), False),
    ("touches failed", lambda r: at(r, "integrity", "touches_failed"), False),
    ("load average before (1/5/15 min)", _load("before"), False),
    ("load average after", _load("after"), False),
)


def _number(value: Figure) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def side_by_side(results: Mapping[str, Result]) -> dict[str, Any]:
    """Each row's figure per broker (in `results`' order), plus kafka ÷ tansu when both ran."""
    brokers = list(results)
    both = "tansu" in results and "kafka" in results
    rows = []
    for label, figure, compared in ROWS:
        values = {name: figure(result) for name, result in results.items()}
        row: dict[str, Any] = {"figure": label, **values}
        if both:
            kafka, tansu = values["kafka"], values["tansu"]
            row["kafka_to_tansu"] = None
            if compared and _number(kafka) and _number(tansu):
                row["kafka_to_tansu"] = ratio(kafka, tansu)
        rows.append(row)
    return {"brokers": brokers, "rows": rows}


def fmt(value: Figure) -> str:
    """A figure for the table: n/a, on/off, whole from 100 up (thousands separated), else to
    3 significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_table(table: Mapping[str, Any], skipped: Mapping[str, str]) -> str:
    """The side-by-side table as text, a line per figure; then what was skipped and why."""
    brokers = list(table["brokers"])
    columns = brokers + (["kafka ÷ tansu"] if "tansu" in brokers and "kafka" in brokers else [])
    keys = [*brokers, "kafka_to_tansu"]
    texts = [[fmt(row.get(k)) for k in keys[: len(columns)]] for row in table["rows"]]
    width = max(len(row["figure"]) for row in table["rows"]) + 2
    cell = max(16, *(len(text) + 3 for text in [*columns, *(t for ts in texts for t in ts)]))
    lines = [f"{'':<{width}}" + "".join(f"{c:>{cell}}" for c in columns)]
    for row, cells in zip(table["rows"], texts, strict=True):
        lines.append(f"{row['figure']:<{width}}" + "".join(f"{c:>{cell}}" for c in cells))
    lines += [f"{name} skipped: {reason}" for name, reason in skipped.items()]
    return "\n".join(lines)
