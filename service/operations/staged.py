"""The staged DAG a provision deploys, and the rules of validation that need it."""

from __future__ import annotations

from service.aws.s3 import S3
from service.domain import dag_check
from service.domain.workload import Workload
from service.errors import DescriptorInvalid, Problem


class StagedDags:
    def __init__(self, s3: S3, max_dag_bytes: int, compiler: dag_check.Compiler) -> None:
        self.s3 = s3
        self.max_dag_bytes = max_dag_bytes
        self.compiler = compiler

    def problems(self, workload: Workload) -> list[Problem]:
        """The staged DAG exists and Airflow can load it."""
        try:
            self.loadable(workload, self.read(workload))
        except DescriptorInvalid as exc:
            return list(exc.problems)
        return []

    def loadable(self, workload: Workload, dag: bytes) -> None:
        """Refuse a DAG Airflow could not load (it does not compile; a zip without a root module)."""
        found = dag_check.problems(workload, dag, self.compiler)
        if found:
            raise DescriptorInvalid(found)

    def read(self, workload: Workload) -> bytes:
        """The staged DAG; a missing one is reported the way validation reports it (one GET when present)."""
        dag = self.s3.get(workload.bucket, workload.staged_key, self.max_dag_bytes)
        if dag is None:
            raise DescriptorInvalid(self._missing(workload))
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
