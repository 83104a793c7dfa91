"""``POST /registry/rebuild``: ``mwaa-sp registry rebuild`` for a CLI pointed at the service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from litestar import Controller, post
from litestar.di import NamedDependency

from service.rebuild import Rebuilder


@dataclass(frozen=True)
class RebuildResult:
    componentIds: list[str]  # noqa: N815 - the API's field name
    """The workloads found in the Terraform states, now in the registry."""


class RegistryController(Controller):
    path = "/registry"

    @post(
        "/rebuild",
        status_code=200,
        summary="Rebuild the workload registry from the Terraform states (answers when done)",
        description=(
            "Reads every state under the state prefix, upserts a registry row per workload and restores the "
            "working directories of text DAGs (one Terraform init each, through the workload's door)."
        ),
    )
    async def rebuild(self, rebuilder: NamedDependency[Rebuilder]) -> RebuildResult:
        return RebuildResult(await asyncio.to_thread(rebuilder))
