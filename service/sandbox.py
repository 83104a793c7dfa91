"""Sandbox mode: everything a first run needs, with no AWS account and no registry access.

- the AWS provider is the offline stand-in, served from a filesystem mirror under the data dir;
- without AWS_ENDPOINT_URL_S3, an embedded S3 emulator (moto) starts on a free loopback port,
  with a demo bucket and a staged sample DAG, and a ready request file for the README's curl.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import socket
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from service.errors import ConfigurationError
from service.settings import Settings

log = logging.getLogger("mwaa_sp.sandbox")

DEMO_BUCKET = "mwaa-sandbox"
DEMO_COMPONENT = "urn:dmb:cmp:sandbox:demo-dp:0:hello-workload"
DEMO_DAG_NAME = "hello_dag.py"
DEMO_DAG = b'''"""A sample DAG staged by the mwaa-sp sandbox."""
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("hello_dag", start_date=datetime(2026, 1, 1), schedule="@daily", catchup=False):
    EmptyOperator(task_id="hello")
'''


def demo_descriptor() -> str:
    return f"""dataProduct:
  id: urn:dmb:dp:sandbox:demo-dp:0
  name: demo-dp
  domain: sandbox
  kind: dataproduct
  version: 0.1.0
  components:
    - kind: workload
      id: {DEMO_COMPONENT}
      name: hello-workload
      specific:
        dagName: {DEMO_DAG_NAME}
        scheduleCron: "5 5 * * *"
        sourcePath: source/
        destinationPath: dags/
        bucketName: {DEMO_BUCKET}
componentIdToProvision: {DEMO_COMPONENT}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_emulator() -> str:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return f"http://127.0.0.1:{port}"


def _seed(settings: Settings) -> Path:
    import boto3

    session = boto3.session.Session(**settings.boto3_credentials)
    s3 = session.client("s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint)
    buckets = [DEMO_BUCKET] + ([settings.state_bucket] if settings.state_bucket else [])
    for bucket in buckets:
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=DEMO_BUCKET, Key=f"source/sandbox.demo-dp.0.{DEMO_DAG_NAME}", Body=DEMO_DAG)
    request = settings.data_dir / "sandbox-request.json"
    request.write_text(
        json.dumps({"descriptorKind": "COMPONENT_DESCRIPTOR", "descriptor": demo_descriptor(), "removeData": False})
    )
    return request


ENDPOINT_FILE = "sandbox-endpoint.json"
"""Where ``serve --sandbox`` records its embedded emulator, so CLI commands use the same one."""


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=3):  # noqa: S310 - loopback emulator
            return True
    except (OSError, ValueError):
        return False


def running_emulator(data_dir: Path) -> str | None:
    """The endpoint of the emulator a running ``serve --sandbox`` on this data dir recorded, if it answers."""
    try:
        endpoint = json.loads((data_dir / ENDPOINT_FILE).read_text())["s3_endpoint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return endpoint if isinstance(endpoint, str) and _answers(endpoint) else None


def prepare(settings: Settings, *, serving: bool, env: Mapping[str, str] | None = None) -> Settings:
    """Settings with the stand-in provider mirror and the sandbox's S3 emulator.

    ``serve`` starts the emulator (unless AWS_ENDPOINT_URL_S3 names one) and records it in the data
    dir; any other command uses the one a running ``serve --sandbox`` recorded, or stops before
    writing anything: an empty emulator of its own would report every workload missing.

    Nothing here changes the process's environment: the emulator's credentials (``AWS_ACCESS_KEY_ID``
    and ``AWS_SECRET_ACCESS_KEY`` from ``env``, each defaulting to ``sandbox``) travel in the returned
    settings, to boto3 and to Terraform's environment.
    """
    env = os.environ if env is None else env
    # moto, and the stand-in provider's own distribution (mwaa-sp-standin, which brings tf).
    missing = [name for name in ("moto", "mwaa_sp_standin", "tf") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(
            "--sandbox needs the sandbox extra (an AWS emulator and the stand-in provider, "
            f"missing: {', '.join(missing)}): pip install 'mwaa-sp[sandbox]'"
        )
    from mwaa_sp_standin.mirror import install_mirror

    endpoint = settings.s3_endpoint
    if endpoint is None and not serving:
        endpoint = running_emulator(settings.data_dir)
        if endpoint is None:
            raise ConfigurationError(
                f"no sandbox is running for data dir {settings.data_dir}: the sandbox's S3 emulator lives "
                "inside `mwaa-sp serve --sandbox` (make run); start it first, or set AWS_ENDPOINT_URL_S3"
            )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cli_config = install_mirror(settings.data_dir / "provider-mirror")
    # The emulator accepts any credentials; real ones are never needed (nor logged) here.
    credentials = (env.get("AWS_ACCESS_KEY_ID") or "sandbox", env.get("AWS_SECRET_ACCESS_KEY") or "sandbox")
    settings = settings.with_overrides(
        sandbox=True, emulator=True, tf_cli_config_file=cli_config, aws_credentials=credentials
    )
    if endpoint is not None:
        log.warning("SANDBOX MODE: stand-in AWS provider against S3 endpoint %s; not for production", endpoint)
        iam = settings.iam_endpoint or (endpoint if settings.s3_endpoint is None else None)
        sts = settings.sts_endpoint or (endpoint if settings.s3_endpoint is None else None)
        return settings.with_overrides(s3_endpoint=endpoint, iam_endpoint=iam, sts_endpoint=sts)
    emulator = _start_emulator()  # moto serves S3, IAM and STS (updateacl) on one port
    settings = settings.with_overrides(s3_endpoint=emulator, iam_endpoint=emulator, sts_endpoint=emulator)
    request = _seed(settings)
    (settings.data_dir / ENDPOINT_FILE).write_text(json.dumps({"s3_endpoint": settings.s3_endpoint}))
    log.warning(
        "SANDBOX MODE: stand-in AWS provider, embedded S3 emulator at %s (demo bucket %s); "
        "try: curl -X POST http://%s:%d/v1/provision -H 'content-type: application/json' -d @%s",
        settings.s3_endpoint,
        DEMO_BUCKET,
        settings.host,
        settings.port,
        request,
    )
    return settings
