"""At most one unpacked copy of the provider per data directory, however many workloads, with the
provider served from a packed (zip) mirror as production's image has it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.standin.mirror import install_packed_mirror
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key

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
