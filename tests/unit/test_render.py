"""Rendering against golden files: a change to what Terraform receives is always a visible diff.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/test_render.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from service.domain.descriptor import parse_descriptor
from service.engine.render import write_module
from service.settings import Settings
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.rendering import rendered

GOLDEN = Path(__file__).parent / "golden"
DAG = b"from airflow import DAG\n"


def _settings(tmp_path: Path, **changes: object) -> Settings:
    # A fixed data dir keeps the local backend's path stable in the golden file.
    return Settings(data_dir=Path("/var/lib/mwaa-sp")).with_overrides(**changes)


def _check(name: str, content: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(content)
    assert content == path.read_text(), f"{name} differs from its golden file"


@pytest.mark.parametrize(
    ("variant", "changes"),
    [
        ("local", {}),
        (
            "s3",
            {"state_backend": "s3", "state_bucket": "tf-states", "s3_endpoint": "http://127.0.0.1:9", "emulator": True},
        ),
        # A VPC endpoint: the override changes where requests go, not how the provider authenticates.
        (
            "vpce",
            {
                "state_backend": "s3",
                "state_bucket": "tf-states",
                "s3_endpoint": "https://bucket.vpce-1.s3.amazonaws.com",
            },
        ),
    ],
)
def test_root_module_matches_golden(tmp_path: Path, variant: str, changes: dict[str, object]) -> None:
    module = rendered(_settings(tmp_path, **changes), parse_descriptor(descriptor(WorkloadSpec())), DAG)
    _check(f"main.{variant}.tf", module.text("main.tf"))
    _check(f"backend.{variant}.json", module.text("backend.json"))
    _check("terraform.tfvars.json", module.text("terraform.tfvars.json"))


def test_binary_dag_travels_as_an_artifact(tmp_path: Path) -> None:
    workload = parse_descriptor(descriptor(WorkloadSpec(dag_name="pkg.zip")))
    module = rendered(_settings(tmp_path), workload, b"PK\x03\x04binary")
    tfvars = json.loads(module.text("terraform.tfvars.json"))["workload"]
    assert tfvars["dag_kind"] == "binary"
    assert tfvars["dag_source"] == "artifacts/finance_invoices_1_pkg.zip"
    assert tfvars["dag_source_md5"] == "2791a6c4d2db251e8e0e58a874558163"
    assert module.files["artifacts/finance_invoices_1_pkg.zip"] == b"PK\x03\x04binary"
    assert "dag_content" not in tfvars


def test_hostile_values_stay_data(tmp_path: Path) -> None:
    hostile = '${file("etc-passwd")}%{ if true }x%{ endif }".py'
    workload = parse_descriptor(descriptor(WorkloadSpec(dag_name=hostile)))
    module = rendered(_settings(tmp_path), workload, b'"}\n${jsonencode(1)}')
    for name, content in module.files.items():
        if name.endswith(".tf"):
            assert b"etc-passwd" not in content, name
            assert b"jsonencode(1)" not in content, name
    tfvars = json.loads(module.text("terraform.tfvars.json"))["workload"]
    assert tfvars["dag_content"] == '"}\n${jsonencode(1)}'
    assert tfvars["dag_key"] == "dags/finance_invoices_1___file__etc_passwd______if_true__x___endif___.py"


def test_digest_tracks_every_input(tmp_path: Path) -> None:
    renderer = _settings(tmp_path)
    workload = parse_descriptor(descriptor(WorkloadSpec()))
    base = rendered(renderer, workload, DAG).digest
    assert rendered(renderer, workload, DAG).digest == base
    assert rendered(renderer, workload, DAG + b"#").digest != base
    other = parse_descriptor(descriptor(WorkloadSpec(cron="@daily")))
    assert rendered(renderer, other, DAG).digest != base


def test_write_module_drops_stale_artifacts(tmp_path: Path) -> None:
    renderer = _settings(tmp_path)
    zipped = parse_descriptor(descriptor(WorkloadSpec(dag_name="pkg.zip")))
    write_module(rendered(renderer, zipped, b"zip"), tmp_path)
    assert (tmp_path / "artifacts" / "finance_invoices_1_pkg.zip").exists()
    write_module(rendered(renderer, parse_descriptor(descriptor(WorkloadSpec())), DAG), tmp_path)
    assert not (tmp_path / "artifacts" / "finance_invoices_1_pkg.zip").exists()
    assert (tmp_path / "modules" / "workload" / "main.tf").exists()


def test_only_emulator_mode_skips_the_checks_only_aws_answers(tmp_path: Path) -> None:
    workload = parse_descriptor(descriptor(WorkloadSpec()))
    endpoint = {"state_backend": "s3", "state_bucket": "tf-states", "s3_endpoint": "https://vpce.example"}
    for emulator, expected in ((False, False), (True, True)):
        main = rendered(_settings(tmp_path, **endpoint, emulator=emulator), workload, DAG).text("main.tf")
        for flag in ("skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check"):
            assert (flag in main) is expected, (emulator, flag)
        assert ("s3_use_path_style" in main) is expected
