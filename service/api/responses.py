"""Bodies of ``ProvisioningStatus`` and ``ValidationStatus`` in the shapes Witboost renders.

Marketplace shows ``publicInfo`` entries shaped ``{type: string|link|date, label, value, href?}``;
``privateInfo`` is stored with the deployed descriptor but not shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from service.domain.workload import Workload
from service.engine.results import ChangeSummary


def _string(label: str, value: str) -> dict[str, str]:
    return {"type": "string", "label": label, "value": value}


def provisioned(
    workload: Workload,
    *,
    state_backend: str,
    state_key: str,
    etag: str | None,
    version_id: str | None,
    summary: ChangeSummary,
    plan_id: str | None,
    no_op_without_terraform: bool,
    logs: list[dict[str, str]],
    airflow_url: str | None = None,
) -> dict[str, Any]:
    uri = f"s3://{workload.bucket}/{workload.deployed_key}"
    console = f"https://s3.console.aws.amazon.com/s3/object/{workload.bucket}?prefix={quote(workload.deployed_key)}"
    return {
        "status": "COMPLETED",
        "result": f"DAG deployed to {uri} ({summary})",
        "info": {
            "publicInfo": {
                "dagLocation": {"type": "link", "label": "DAG location", "value": uri, "href": console},
                "airflowDagFile": _string("Airflow DAG file", workload.deployed_file),
                "airflowDagId": (
                    {"type": "link", "label": "Airflow DAG id", "value": workload.dag_id, "href": airflow_url}
                    if airflow_url
                    else _string("Airflow DAG id", workload.dag_id)
                ),
                "descriptorLocation": _string(
                    "Descriptor location", f"s3://{workload.bucket}/{workload.descriptor_key}"
                ),
                "schedule": _string("Schedule", workload.schedule_cron),
                "deployedAt": {
                    "type": "date",
                    "label": "Deployed at",
                    "value": datetime.now(UTC).isoformat(),
                },
            },
            "privateInfo": {
                "bucket": workload.bucket,
                "dagKey": workload.deployed_key,
                "descriptorKey": workload.descriptor_key,
                "etag": etag,
                "versionId": version_id,
                "stateBackend": state_backend,
                "stateKey": state_key,
                "planSummary": summary.as_dict(),
                "planId": plan_id,
                "noOpVerifiedWithoutTerraform": no_op_without_terraform,
            },
        },
        "logs": logs,
    }


def unprovisioned(
    workload: Workload, state_key: str, summary: ChangeSummary, plan_id: str | None, logs: list[dict[str, str]]
) -> dict[str, Any]:
    where = f"s3://{workload.bucket}/{workload.deployed_key}"
    removed = summary.destroy > 0
    return {
        "status": "COMPLETED",
        "result": f"DAG removed from {where} ({summary})" if removed else f"Nothing to remove: {where} is not deployed",
        "info": {
            "publicInfo": {},
            "privateInfo": {"stateKey": state_key, "planSummary": summary.as_dict(), "planId": plan_id},
        },
        "logs": logs,
    }


def running(logs: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A task still running, with the logs of the phases it went through so far."""
    return {"status": "RUNNING", "result": "", "info": {"publicInfo": {}, "privateInfo": {}}, "logs": logs or []}


def failed(message: str, logs: list[dict[str, str]], phase: str = "error") -> dict[str, Any]:
    entry = {"timestamp": datetime.now(UTC).isoformat(), "level": "ERROR", "message": message, "phase": phase}
    return {
        "status": "FAILED",
        "result": message,
        "info": {"publicInfo": {}, "privateInfo": {"error": message}},
        "logs": [*logs, entry],
    }


def validation(status: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """``ValidationStatus``: the ``ValidationResult`` travels in ``info.publicInfo``."""
    body: dict[str, Any] = {"status": status}
    if result is not None:
        body["info"] = {"publicInfo": result}
    return body
