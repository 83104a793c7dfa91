"""The sandbox changes no process-wide environment: its emulator's credentials travel in the settings."""

from __future__ import annotations

import os
from pathlib import Path

from service import sandbox
from service.settings import Settings
from service.wiring import terraform_env


def test_prepare_leaves_os_environ_alone_and_passes_credentials_explicitly(tmp_path: Path) -> None:
    before = dict(os.environ)
    settings = Settings(data_dir=tmp_path / "data", s3_endpoint="http://127.0.0.1:9")
    prepared = sandbox.prepare(settings, serving=False, env={"AWS_SECRET_ACCESS_KEY": "given"})
    assert dict(os.environ) == before
    assert prepared.aws_credentials == ("sandbox", "given")
    assert prepared.boto3_credentials == {"aws_access_key_id": "sandbox", "aws_secret_access_key": "given"}
    assert "given" not in repr(prepared)
    env = terraform_env(prepared)
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("sandbox", "given")
    assert env["TF_CLI_CONFIG_FILE"] == str(prepared.tf_cli_config_file)


def test_without_the_sandbox_the_credential_chain_applies() -> None:
    settings = Settings()
    assert settings.boto3_credentials == {}
    assert "AWS_ACCESS_KEY_ID" not in terraform_env(settings)
