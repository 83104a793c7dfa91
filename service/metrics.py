"""Prometheus text exposition of what the registry knows (no client library needed for gauges)."""

from __future__ import annotations

from service.store.registry import Registry

VERDICTS = ("in_sync", "drifted", "missing", "error")


def prometheus(registry: Registry) -> str:
    entries = registry.list()
    deployed = [e for e in entries if e.deployed]
    counts = {v: 0 for v in (*VERDICTS, "unchecked")}
    last_check = 0.0
    for entry in deployed:
        counts[entry.drift_status or "unchecked"] = counts.get(entry.drift_status or "unchecked", 0) + 1
        if entry.drift_checked_at:
            last_check = max(last_check, entry.drift_checked_at.timestamp())
    lines = [
        "# HELP mwaa_sp_workloads_deployed Workloads whose DAG is deployed.",
        "# TYPE mwaa_sp_workloads_deployed gauge",
        f"mwaa_sp_workloads_deployed {len(deployed)}",
        "# HELP mwaa_sp_workloads_drift Deployed workloads by the verdict of their last drift check.",
        "# TYPE mwaa_sp_workloads_drift gauge",
        *[f'mwaa_sp_workloads_drift{{verdict="{k}"}} {v}' for k, v in sorted(counts.items())],
        "# HELP mwaa_sp_drift_last_check_timestamp_seconds Time of the newest drift check.",
        "# TYPE mwaa_sp_drift_last_check_timestamp_seconds gauge",
        f"mwaa_sp_drift_last_check_timestamp_seconds {last_check}",
    ]
    return "\n".join(lines) + "\n"
