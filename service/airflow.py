"""Where a workload's DAG shows in the Airflow UI: the MWAA environment's webserver (GetEnvironment),
looked up once per process. Only a convenience link: when it cannot be had, it is left out and the
operation goes on."""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("mwaa_sp.airflow")
_RETRY_AFTER_S = 300.0


class AirflowUi:
    def __init__(self, environment: str | None, region: str, endpoint: str | None) -> None:
        self.environment = environment
        self._region = region
        self._endpoint = endpoint
        self._base: str | None = None
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def _webserver(self) -> str | None:
        if self.environment is None:
            return None
        with self._lock:
            if self._base is None and time.monotonic() - self._failed_at > _RETRY_AFTER_S:
                config = Config(
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=3,
                    read_timeout=10,
                    # MWAA's API prefixes the host with "api."; an overridden endpoint is used as given.
                    inject_host_prefix=self._endpoint is None,
                )
                client = boto3.session.Session().client(
                    "mwaa", region_name=self._region, endpoint_url=self._endpoint, config=config
                )
                try:
                    host = str(client.get_environment(Name=self.environment)["Environment"]["WebserverUrl"])
                except (BotoCoreError, ClientError, KeyError) as exc:
                    log.warning("no Airflow link: GetEnvironment(%s) failed: %s", self.environment, exc)
                    self._failed_at = time.monotonic()
                    return None
                self._base = host if host.startswith("https://") else f"https://{host}"
            return self._base

    def dag_url(self, dag_id: str) -> str | None:
        base = self._webserver()
        return None if base is None else f"{base.rstrip('/')}/dags/{quote(dag_id, safe='')}/grid"
