"""Prometheus metrics to alert on, with ``prometheus_client``.

This process's own measurements — how long operations and Terraform commands take and how they end,
how many jobs wait at the workloads' door and how long locks are waited for, the drift verdicts
reached — are module-level metrics every component records into. The registry's figures (deployed
workloads, by drift verdict, the newest check) are read by aggregates in SQL when scraped, so they
are the same on every replica and cost the same for 10 or 10,000 workloads. Times are UTC epochs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.store.registry import Registry

VERDICTS = ("in_sync", "drifted", "missing", "error", "unchecked")
# Seconds: a no-op provision takes tens of milliseconds, a Terraform apply seconds, a drift run minutes.
_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)

OPERATIONS = Histogram(
    "mwaa_sp_operation_duration_seconds",
    "Operations by kind (provision, unprovision, validate, updateacl, reverse, plan) and outcome "
    "(COMPLETED, FAILED); the _count series are the outcome counters.",
    ["operation", "outcome"],
    buckets=_BUCKETS,
    registry=None,
)
TERRAFORM = Histogram(
    "mwaa_sp_terraform_duration_seconds",
    "Terraform commands by command (init, plan, apply, show, state) and outcome (ok, failed).",
    ["command", "outcome"],
    buckets=_BUCKETS,
    registry=None,
)
LOCK_WAIT = Histogram(
    "mwaa_sp_lock_wait_seconds",
    "Time spent waiting for a cross-process lock: a workload's door, or the plugin cache's.",
    ["lock"],
    buckets=_BUCKETS,
    registry=None,
)
DOOR_JOBS = Gauge(
    "mwaa_sp_door_jobs",
    "Jobs at this process's workload door: queued behind a busy workload, or running.",
    ["state"],
    registry=None,
)
DRIFT_VERDICTS = Counter(
    "mwaa_sp_drift_verdicts_total",
    "Drift verdicts reached by this process, by verdict.",
    ["verdict"],
    registry=None,
)
_PROCESS = (OPERATIONS, TERRAFORM, LOCK_WAIT, DOOR_JOBS, DRIFT_VERDICTS)


@contextmanager
def timed(histogram: Histogram, outcome_of: dict[str, str] | None = None, **labels: str) -> Iterator[dict[str, str]]:
    """Observe the block's duration; the ``outcome`` label is what the block sets in the dict it gets
    (``failed`` when it raises)."""
    outcome = {"outcome": "ok"} if outcome_of is None else outcome_of
    started = time.monotonic()
    try:
        yield outcome
    except BaseException:
        outcome["outcome"] = "failed" if outcome_of is None else "FAILED"
        raise
    finally:
        histogram.labels(**labels, outcome=outcome["outcome"]).observe(time.monotonic() - started)


class _ProcessMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        for metric in _PROCESS:
            yield from metric.collect()


class _RegistryFigures(Collector):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        deployed, by_verdict, newest = self.registry.counts()
        yield GaugeMetricFamily("mwaa_sp_workloads_deployed", "Workloads whose DAG is deployed.", value=deployed)
        verdicts = GaugeMetricFamily(
            "mwaa_sp_workloads_drift",
            "Deployed workloads by the verdict of their last drift check.",
            labels=["verdict"],
        )
        for verdict in VERDICTS:
            verdicts.add_metric([verdict], by_verdict.get(verdict, 0))
        yield verdicts
        yield GaugeMetricFamily(
            "mwaa_sp_drift_last_check_timestamp_seconds",
            "Time of the newest drift check (UTC epoch seconds; 0: none yet).",
            value=newest.timestamp() if newest else 0.0,
        )


def exposition(registry: Registry) -> str:
    """The text ``/metrics`` answers: this process's metrics and the registry's figures."""
    collected = CollectorRegistry(auto_describe=False)
    collected.register(_ProcessMetrics())
    collected.register(_RegistryFigures(registry))
    return generate_latest(collected).decode()
