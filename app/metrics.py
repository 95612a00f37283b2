"""The server's Prometheus metrics (prometheus-client), served at /metrics.

Each server keeps its own registry, so that several apps in one process (the
tests) do not share counters.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from models.broker import Broker
from models.retention import PurgeReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    """Every metric the server exposes."""

    def __init__(self, broker: Broker) -> None:
        self.registry = CollectorRegistry()
        labels = ("operation", "type")
        self.operations = Counter(
            "datastore_operations",
            "GraphQL operations run, by root field and operation type",
            labels,
            registry=self.registry,
        )
        self.errors = Counter(
            "datastore_errors",
            "GraphQL errors, by root field and extensions.code",
            ("operation", "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "datastore_operation_seconds",
            "How long operations took (a subscription: how long it lived)",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.open_sockets = Gauge(
            "datastore_open_sockets", "WebSockets open now", registry=self.registry
        )
        self._broker_gauges(broker)
        self.registry.register(BrokerCounters(lambda: broker))
        self._purge_metrics()

    def observe(
        self, operation: str, kind: str, seconds: float, codes: list[str]
    ) -> None:
        """Record one root field of an operation (see ``schema.observability``)."""
        self.operations.labels(operation, kind).inc()
        self.latency.labels(operation, kind).observe(seconds)
        for code in codes:
            self.errors.labels(operation, code).inc()

    def record_purge(self, report: PurgeReport) -> None:
        """Count what a purge removed."""
        self.purge_runs.inc()
        for scope, number in report.by_scope().items():
            self.purged_documents.labels(scope).inc(number)
        self.purged_change_log_entries.inc(report.change_log_entries)
        self.purged_sessions.inc(report.sessions)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)

    def _broker_gauges(self, broker: Broker) -> None:
        subscriptions = Gauge(
            "datastore_live_subscriptions",
            "Live feeds (subscriptions) now",
            registry=self.registry,
        )
        subscriptions.set_function(lambda: broker.listener_count)
        depth = Gauge(
            "datastore_queued_events",
            "Changes waiting in subscribers' queues now, all together",
            registry=self.registry,
        )
        depth.set_function(lambda: broker.queued)

    def _purge_metrics(self) -> None:
        self.purge_runs = Counter(
            "datastore_purge_runs", "Purges run by the server", registry=self.registry
        )
        self.purged_documents = Counter(
            "datastore_purged_documents",
            "Documents removed past their retention, by scope",
            ("scope",),
            registry=self.registry,
        )
        self.purged_change_log_entries = Counter(
            "datastore_purged_change_log_entries",
            "Change log entries removed by purges",
            registry=self.registry,
        )
        self.purged_sessions = Counter(
            "datastore_purged_sessions",
            "Sessions removed past their retention",
            registry=self.registry,
        )


class BrokerCounters(Collector):
    """The broker's own counts, read at each scrape."""

    def __init__(self, broker: Callable[[], Broker]) -> None:
        self._broker = broker

    def collect(self) -> list[Metric]:
        """Report published, delivered, dropped and passed events."""
        stats = self._broker().stats
        return [
            CounterMetricFamily(
                "datastore_events_published", "Changes published", stats.published
            ),
            CounterMetricFamily(
                "datastore_events_delivered",
                "Changes queued for a subscriber (one per subscriber)",
                stats.delivered,
            ),
            CounterMetricFamily(
                "datastore_events_dropped",
                "Changes dropped for subscribers that fell behind (sent a snapshot)",
                stats.dropped,
            ),
            CounterMetricFamily(
                "datastore_events_passed",
                "Changes of those delivered that their writer queued straight on "
                "the waiting subscriber's socket",
                stats.passed,
            ),
        ]
