"""The service's parts wired as in production (``service.wiring.build``) over a throwaway SQLite
database, with the world outside doubled (:mod:`tests.support.fakes`): unit tests of the operations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from service.domain.descriptor import parse_descriptor
from service.domain.journal import Journal
from service.domain.principals import Principal
from service.domain.workload import Workload
from service.engine.door import DoorPass
from service.settings import Settings
from service.wiring import Components, Outside, build
from tests.support.descriptors import WorkloadSpec, descriptor, staged_key
from tests.support.fakes import FakeIam, FakeMwaa, FakeS3, FakeTerraform

T = TypeVar("T")
BUCKET = "mwaa-bucket"


@dataclass
class Harness:
    parts: Components
    s3: FakeS3
    iam: FakeIam
    terraform: FakeTerraform
    mwaa: FakeMwaa

    def stage(self, spec: WorkloadSpec, dag: bytes = b"x = 1\n", **where: str) -> Workload:
        """Stage ``dag`` as CI would, and answer the workload the descriptor names."""
        self.s3.put(spec.bucket, staged_key(spec, **where), dag)
        return parse_descriptor(descriptor(spec, **where))

    def inside(self, workload: Workload, call: Any) -> Any:
        """``call(door)`` inside the workload's door, as every operation runs."""
        return self.parts.door.run(workload.workload_key, call)

    def provision(self, workload: Workload, journal: Journal | None = None) -> Any:
        return self.inside(workload, lambda door: self.parts.deployer.provision(door, workload, journal or Journal()))

    def unprovision(self, workload: Workload, journal: Journal | None = None) -> Any:
        return self.inside(workload, lambda door: self.parts.deployer.unprovision(door, workload, journal or Journal()))


@contextmanager
def harness(tmp_path: Path, principals: tuple[Principal, ...] = (), **changes: Any) -> Iterator[Harness]:
    s3, iam = FakeS3((BUCKET, "other-bucket")), FakeIam(principals)
    terraform, mwaa = FakeTerraform(s3, iam), FakeMwaa(s3, BUCKET)
    settings = Settings(data_dir=tmp_path / "data", allowed_buckets=(BUCKET,), **changes)
    outside = Outside(s3=s3, iam=iam, runner=terraform, mwaa=mwaa)  # type: ignore[arg-type]
    parts = build(settings, "service", outside)
    try:
        yield Harness(parts, s3, iam, terraform, mwaa)
    finally:
        parts.door.shutdown(0)
        parts.background.shutdown(5)
        parts.compiler.close()


def door_run(parts: Components, key: str, call: Any) -> Any:
    def job(door: DoorPass) -> Any:
        return call(door)

    return parts.door.run(key, job)
