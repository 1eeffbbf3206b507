"""Prometheus metrics: one definition per process, labels bounded (no lead ids, no emails)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# `_created` series double every counter's series and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "leadloop_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "leadloop_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "leadloop_events_published_total",
    "Events the outbox relay handed to the broker, by outcome (ok, error).",
    ["service", "topic", "type", "outcome"],
)
EVENTS_CONSUMED = Counter(
    "leadloop_events_consumed_total",
    "Records a consumer finished, by outcome (ok, duplicate, retried, dead_lettered).",
    ["service", "topic", "type", "outcome"],
)
HANDLER_LATENCY = Histogram(
    "leadloop_handler_duration_seconds",
    "Time a consumer handler took, transaction included.",
    ["service", "topic", "type"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "leadloop_consumer_lag_records",
    "High-water mark of the last fetch minus the consumer position.",
    ["service", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "leadloop_outbox_backlog_records",
    "Outbox rows not yet acknowledged by the broker.",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "leadloop_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet acknowledged by the broker.",
    ["service"],
)
DLQ_RECORDS = Counter(
    "leadloop_dlq_records_total",
    "Records sent to a dead-letter topic.",
    ["service", "topic"],
)
KAFKA_IDEMPOTENT_PRODUCER = Gauge(
    "leadloop_kafka_idempotent_producer",
    "1 when the service's Kafka producer runs idempotent (chosen at start), else 0.",
    ["service"],
)
BACKGROUND_TASK_FAILURES = Counter(
    "leadloop_background_task_failures_total",
    "Background tasks (relay, consumer, workers) that raised or returned while the service ran.",
    ["service", "task"],
)


# Source is free text from marketing automation; as a label it is bounded to these channels.
SOURCE_LABELS = frozenset(
    {
        "organic",
        "paid_search",
        "paid_social",
        "social",
        "email",
        "referral",
        "webinar",
        "event",
        "partner",
        "direct",
        "content",
        "display",
        "affiliate",
        "import",
        "unknown",
    }
)


def source_label(source: str | None) -> str:
    """A lead source as a bounded label value: a known channel, `unknown` or `other`."""
    if not source:
        return "unknown"
    value = source.strip().lower().replace(" ", "_").replace("-", "_")
    return value if value in SOURCE_LABELS else "other"


OUTBOX_PARKED = Gauge(
    "leadloop_outbox_parked_records",
    "Outbox rows the broker refused for good (too large, say), parked with their error.",
    ["service"],
)
CONSUMED_OUTCOMES = ("ok", "duplicate", "retried", "dead_lettered", "ignored")
PUBLISHED_OUTCOMES = ("ok", "error", "parked")
DLQ_FALLBACK_WAYS = ("reference", "parked")
DLQ_FALLBACKS = Counter(
    "leadloop_dlq_fallbacks_total",
    "Dead letters that could not go whole: sent as a reference record, or parked in the outbox.",
    ["service", "topic", "how"],
)


def start_at_zero(
    service: str, consumed: Iterable[tuple[str, str]], produced: Iterable[tuple[str, str]]
) -> None:
    """Create a service's counters with their known label sets at 0, so a dashboard or an
    alert sees 0, not "no data", before the first event: `consumed` and `produced` are the
    (physical topic, event type) pairs it handles and publishes."""
    consumed, produced = list(consumed), list(produced)
    for topic, event_type in consumed:
        for outcome in CONSUMED_OUTCOMES:
            EVENTS_CONSUMED.labels(service, topic, event_type, outcome)
    for topic in dict.fromkeys(topic for topic, _ in consumed):
        DLQ_RECORDS.labels(service, topic)
        for how in DLQ_FALLBACK_WAYS:
            DLQ_FALLBACKS.labels(service, topic, how)
    for topic, event_type in produced:
        for outcome in PUBLISHED_OUTCOMES:
            EVENTS_PUBLISHED.labels(service, topic, event_type, outcome)
