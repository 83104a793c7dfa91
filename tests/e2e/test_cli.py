"""``mwaa-sp render`` and ``mwaa-sp plan``: the same modules as the API, without HTTP."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, staged_key
from tests.support.processes import base_env, run_cli

pytestmark = pytest.mark.e2e


def test_render_and_plan(tmp_path: Path, s3: Any, moto_endpoint: str, provider_cli_config: Path) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"print('planned')\n")
    path = tmp_path / "descriptor.yaml"
    path.write_text(descriptor(spec))
    env = base_env(moto_endpoint) | {
        "TF_CLI_CONFIG_FILE": str(provider_cli_config),
        "MWAA_SP_DATA_DIR": str(tmp_path / "data"),
    }

    rendered = run_cli(["render", str(path), "--out", str(tmp_path / "out")], env)
    assert rendered.returncode == 0, rendered.stderr
    tfvars = json.loads((tmp_path / "out" / "terraform.tfvars.json").read_text())
    assert tfvars["workload"]["dag_content"] == "print('planned')\n"
    assert (tmp_path / "out" / "modules" / "workload" / "main.tf").exists()

    assert run_cli(["db", "upgrade"], env).returncode == 0  # no command but serve migrates
    planned = run_cli(["plan", str(path)], env)
    assert planned.returncode == 0, planned.stderr
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in planned.stdout
    assert "print('planned')" in planned.stdout
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("KeyCount", 0) == 0

    broken = tmp_path / "broken.yaml"
    broken.write_text(descriptor(WorkloadSpec(bucket=bucket, dag_name="x.sql")))
    failed = run_cli(["render", str(broken), "--out", str(tmp_path / "nope")], env)
    assert failed.returncode == 65  # an invalid descriptor: never 0, never 2 ("drift found")
    assert "dataProduct.components[0].specific.dagName" in failed.stderr
    assert not os.path.exists(tmp_path / "nope")


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path, moto_endpoint: str) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    env = base_env(moto_endpoint) | {"MWAA_SP_DATA_DIR": str(not_a_dir / "data")}
    result = run_cli(["serve"], env)
    assert result.returncode == 78
    assert f"error: MWAA_SP_DATA_DIR {not_a_dir / 'data'} is not a writable directory" in result.stderr
    assert "Traceback" not in result.stderr
    listed = run_cli(["workloads"], env)
    assert listed.returncode == 78
    assert listed.stderr.strip().endswith("run `mwaa-sp db upgrade` first")
