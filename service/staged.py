"""The staged DAG a provision deploys, and the rules of validation that need S3 and the registry."""

from __future__ import annotations

from service import dag_check, migration
from service.errors import DescriptorInvalid, Problem
from service.journal import Journal
from service.s3 import S3
from service.store.registry import Registry
from service.workload import Workload


class StagedDags:
    def __init__(self, s3: S3, registry: Registry, max_dag_bytes: int) -> None:
        self.s3 = s3
        self.registry = registry
        self.max_dag_bytes = max_dag_bytes

    def problems(self, workload: Workload) -> list[Problem]:
        """The staged DAG exists, Airflow can load it, and nobody else deploys to our keys."""
        try:
            self.loadable(workload, self.read(workload))
        except DescriptorInvalid as exc:
            return list(exc.problems)
        return []

    def loadable(self, workload: Workload, dag: bytes) -> None:
        """Refuse a DAG Airflow could not load (it does not compile; a zip without a root module)."""
        found = dag_check.problems(workload, dag)
        if found:
            raise DescriptorInvalid(found)

    def read(self, workload: Workload) -> bytes:
        """The staged DAG; a missing one is reported the way validation reports it (one GET when present)."""
        dag = self.s3.get(workload.bucket, workload.staged_key, self.max_dag_bytes)
        problems = (self._missing(workload) if dag is None else []) + self._ownership_problems(workload)
        if problems or dag is None:
            raise DescriptorInvalid(problems)
        if workload.dag_kind == "text":
            try:
                dag.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DescriptorInvalid(
                    [
                        Problem(
                            f"{workload.field}.specific.dagName",
                            f"the staged DAG is not UTF-8 text ({exc.reason})",
                            "Save it as UTF-8.",
                        )
                    ]
                ) from exc
        return dag

    def deployed(self, workload: Workload) -> bytes | None:
        """The DAG as deployed now (a packaged DAG's plan diff compares its bytes)."""
        return self.s3.get(workload.bucket, workload.deployed_key, self.max_dag_bytes)

    def retire_shared_descriptor(self, workload: Workload, journal: Journal) -> None:
        """After this workload is adopted (or removed): the older provisioner's shared descriptor goes
        once nothing depends on it."""
        migration.retire_shared_descriptor(self.s3, self.registry, workload, journal)

    def adoptable(self, workload: Workload) -> dict[str, str]:
        """Objects already at the workload's deployed keys (left by the older provisioner, or put
        there by hand), as Terraform import ids by resource name. One that another component of
        this service deploys is refused, never adopted."""
        found = {}
        dag_resource = "dag_text" if workload.dag_kind == "text" else "dag_binary"
        for resource, key in ((dag_resource, workload.deployed_key), ("descriptor", workload.descriptor_key)):
            tags = self.s3.tags(workload.bucket, key)
            if tags is None:
                continue
            owner = tags.get("witboost:component-id")
            if owner and owner != workload.component_id:
                raise DescriptorInvalid(
                    [
                        Problem(
                            f"{workload.field}.specific.dagName",
                            f"s3://{workload.bucket}/{key} is deployed by {owner}",
                            "Rename the DAG: two components must not deploy to the same key.",
                        )
                    ]
                )
            found[resource] = f"{workload.bucket}/{key}"
        return found

    def _missing(self, workload: Workload) -> list[Problem]:
        if not self.s3.bucket_exists(workload.bucket):
            return [
                Problem(
                    f"{workload.field}.specific.bucketName",
                    f"bucket {workload.bucket!r} does not exist or is not reachable with the service's credentials",
                    "Use the MWAA environment's bucket.",
                )
            ]
        return [
            Problem(
                f"{workload.field}.specific.dagName",
                f"the staged DAG s3://{workload.bucket}/{workload.staged_key} does not exist",
                "Let the CI pipeline stage the DAG at <sourcePath><domain>.<dataproduct>.<major>.<dagName> first.",
            )
        ]

    def _ownership_problems(self, workload: Workload) -> list[Problem]:
        owner = self.registry.owner_of(
            workload.bucket, [workload.deployed_key, workload.descriptor_key], workload.component_id
        )
        if not owner:
            return []
        return [
            Problem(
                f"{workload.field}.specific.dagName",
                f"s3://{workload.bucket}/{workload.deployed_key} is already deployed by {owner}",
                "Rename the DAG: two components must not deploy to the same key.",
            )
        ]
