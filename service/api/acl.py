"""``/v1/updateacl``: synchronous (the contract gives it no status endpoint)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency

from service.api.body import read_body
from service.api.bulkheads import Bulkheads
from service.api.openapi import documented
from service.api.provisioning import TAGS
from service.contract.decode import decode
from service.contract.models import ProvisioningStatus, UpdateAclRequest
from service.operations.access import AccessControl


class AclController(Controller):
    path = "/"
    tags = TAGS

    @post(
        "/v1/updateacl",
        operation_id="updateacl",
        summary="Who may sign in to the workload's Airflow",
        **documented(
            {
                200: (ProvisioningStatus, "The grants as applied"),
                # Documented because the contract documents it; this provisioner always answers 200.
                202: (str, "Not answered here: updateacl is synchronous in this provisioner"),
            },
            body=UpdateAclRequest,
        ),
    )
    async def update_acl(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[AccessControl],
        bulkheads: NamedDependency[Bulkheads],
    ) -> ProvisioningStatus:
        parsed = decode(await read_body(request), UpdateAclRequest)
        return await bulkheads.contract.run(access.update, parsed)
