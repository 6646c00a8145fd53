"""The Prometheus metrics every worker and the API export (`/metrics`).

Names are the contract with deploy/k8s/monitoring (alert rules, the Grafana dashboard): a test
checks that every metric those files query is defined here. Labels are bounded sets (service,
event type, status, decision, reason code), never ids.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: from a few milliseconds (a scoring apply) to minutes (a slow PDF near its timeout).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# Seconds from a link in e-office to the unit's new score: seconds normally, hours in a backlog.
FLOW_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)

MESSAGES = Counter(
    "kiemchung_messages",
    "Messages a service handled, by outcome (processed, duplicate, ignored, rejected, failed)",
    ["service", "event_type", "status"],
)
DEAD_LETTERED = Counter(
    "kiemchung_dead_lettered",
    "Messages sent to a service's dead-letter queue (or table, embedded), by reason",
    ["service", "event_type", "reason"],
)
HANDLE_SECONDS = Histogram(
    "kiemchung_handle_seconds",
    "Time to handle one message (prepare + transaction), by service and event type",
    ["service", "event_type"],
    buckets=LATENCY_BUCKETS,
)
QUEUE_LAG_SECONDS = Histogram(
    "kiemchung_queue_lag_seconds",
    "Time from an event's occurred_at to the moment a service starts handling it",
    ["service", "event_type"],
    buckets=FLOW_BUCKETS,
)
QUEUE_LAG_LAST = Gauge(
    "kiemchung_queue_lag_last_seconds",
    "Queue lag of the last message a service started handling",
    ["service"],
)
QUEUE_MESSAGES = Gauge(
    "kiemchung_queue_messages",
    "Messages waiting in a RabbitMQ queue (the service's queue and its dead-letter queue)",
    ["queue"],
)
OUTBOX_BACKLOG = Gauge(
    "kiemchung_outbox_backlog",
    "Committed outbox rows not yet published to the broker",
    ["service"],
)
OUTBOX_PRUNED = Counter(
    "kiemchung_outbox_pruned",
    "Published outbox rows deleted by the retention job",
    ["service"],
)
VERIFICATION_SECONDS = Histogram(
    "kiemchung_verification_stage_seconds",
    "Verifier time per stage: fetch (the claim check); parse, signatures (render_check included),"
    " render_check, pages (timed in the verifying child process); verify (the report's elapsed_ms);"
    " fetch_and_verify (the whole prepare, waiting for a free child included)",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
VERDICTS = Counter(
    "kiemchung_verdicts",
    "Verdicts the verifier published, by decision and reason code (one count per reason)",
    ["decision", "reason"],
)
SEARCH_SECONDS = Histogram(
    "kiemchung_search_seconds",
    "Evidence search latency, by backend",
    ["backend"],
    buckets=LATENCY_BUCKETS,
)
LINK_TO_SCORE_SECONDS = Histogram(
    "kiemchung_link_to_score_seconds",
    "From a document's link in e-office (EvidenceVerified.linked_at) to the ScoreUpdated it caused",
    buckets=FLOW_BUCKETS,
)
READY = Gauge(
    "kiemchung_ready",
    "1 when every readiness check of this process passed at its last probe, else 0",
)

# Every family this module defines, as Prometheus exposes it (counters gain a _total sample).
EXPORTED_NAMES = frozenset(
    {
        "kiemchung_messages_total",
        "kiemchung_dead_lettered_total",
        "kiemchung_handle_seconds",
        "kiemchung_queue_lag_seconds",
        "kiemchung_queue_lag_last_seconds",
        "kiemchung_queue_messages",
        "kiemchung_outbox_backlog",
        "kiemchung_outbox_pruned_total",
        "kiemchung_verification_stage_seconds",
        "kiemchung_verdicts_total",
        "kiemchung_search_seconds",
        "kiemchung_link_to_score_seconds",
        "kiemchung_ready",
    }
)
