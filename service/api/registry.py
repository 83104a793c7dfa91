"""``POST /registry/rebuild``: ``mwaa-sp registry rebuild`` for a CLI pointed at the service."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency

from service.api.bulkheads import Bulkheads
from service.api.openapi import documented
from service.contract.models import RebuildResult
from service.operations.rebuild import Rebuilder


class RegistryController(Controller):
    path = "/registry"
    tags = ["Operations"]

    @post(
        "/rebuild",
        operation_id="rebuildRegistry",
        summary="Rebuild the workload registry from the Terraform states (answers when done)",
        description=(
            "Reads every state under the state prefix, upserts a registry row per workload and restores the "
            "working directories of text DAGs (one Terraform init each, through the workload's door)."
        ),
        **documented({200: (RebuildResult, "The workloads now in the registry")}, errors=(500,)),
    )
    async def rebuild(
        self, rebuilder: NamedDependency[Rebuilder], bulkheads: NamedDependency[Bulkheads]
    ) -> RebuildResult:
        return RebuildResult(await bulkheads.operations.run(rebuilder.rebuild))
