"""At most one unpacked copy of the provider per data directory, however many workloads, with the
provider served from a packed (zip) mirror as production's image has it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mwaa_sp_standin.mirror import install_packed_mirror
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.processes import wait_finished

pytestmark = pytest.mark.e2e


def _provider_binaries(root: Path) -> list[Path]:
    """Provider executables that are real files (a symlink into the cache is not a copy)."""
    return [p for p in root.rglob("terraform-provider-aws_v*") if p.is_file() and not p.is_symlink()]


def test_four_workloads_share_one_unpacked_provider(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    packed = install_packed_mirror(tmp_path / "packed-provider")
    assert not _provider_binaries(tmp_path / "packed-provider" / "mirror")  # only the zip is there
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    data = tmp_path / "data"
    service = service_factory(data_dir=data, env_extra={"TF_CLI_CONFIG_FILE": str(packed)})
    specs = [WorkloadSpec(name=f"w{i}", dag_name=f"w{i}.py", bucket=bucket) for i in range(4)]
    for spec in specs:
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
        answer = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300)
        assert answer.status_code == 200, answer.text
    copies = _provider_binaries(data)
    assert len(copies) == 1, copies
    assert copies[0].is_relative_to(data / "plugin-cache")
    # Each working directory links the cached package (Terraform links the platform directory).
    platform_dirs = list((data / "workloads").glob("*/*/*/*/.terraform/providers/*/hashicorp/aws/*/*"))
    assert len(platform_dirs) == 4
    for platform_dir in platform_dirs:
        assert platform_dir.is_symlink()
        assert platform_dir.resolve() == copies[0].parent.resolve()


def test_eight_first_provisions_at_once_on_a_cold_cache(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    """Terraform documents the plugin cache as unsafe for concurrent ``init``: eight first provisions
    of a new data product at once, on a cold cache, each round in a fresh data directory, all end
    COMPLETED (the inits take the data directory's plugin-cache lock in turn)."""
    packed = install_packed_mirror(tmp_path / "packed-provider")
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for round_number in range(3):
        service = service_factory(
            data_dir=tmp_path / f"cold{round_number}",
            max_parallel="8",
            env_extra={"TF_CLI_CONFIG_FILE": str(packed), "MWAA_SP_ASYNC": "true"},
        )
        specs = [
            WorkloadSpec(name=f"r{round_number}w{i}", dag_name=f"r{round_number}w{i}.py", bucket=bucket)
            for i in range(8)
        ]
        for spec in specs:
            s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
        url = f"{service.url}/v1/provision"
        with ThreadPoolExecutor(8) as senders:
            tokens = list(
                senders.map(lambda spec, url=url: httpx.post(url, json=request(descriptor(spec)), timeout=60), specs)
            )
        ended = [wait_finished(f"{service.url}/v1/provision/{t.json()}/status") for t in tokens]
        failed = [e["result"] for e in ended if e["status"] != "COMPLETED"]
        assert failed == [], failed
        assert len(_provider_binaries(tmp_path / f"cold{round_number}")) == 1
        service.stop()
