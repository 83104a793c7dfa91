"""Where a workload's DAG shows in the Airflow UI: the MWAA environment's webserver. Only a
convenience link: when it cannot be had, it is left out and the operation goes on."""

from __future__ import annotations

from urllib.parse import quote

from service.aws.mwaa import MwaaEnvironment
from service.errors import MwaaSpError


class AirflowUi:
    def __init__(self, environment: MwaaEnvironment) -> None:
        self._environment = environment

    @property
    def environment(self) -> str | None:
        return self._environment.name

    def _webserver(self) -> str | None:
        if self._environment.name is None:
            return None
        try:
            host = str(self._environment.describe().get("WebserverUrl") or "")
        except MwaaSpError:
            return None
        if not host:
            return None
        return host if host.startswith("https://") else f"https://{host}"

    def dag_url(self, dag_id: str) -> str | None:
        base = self._webserver()
        return None if base is None else f"{base.rstrip('/')}/dags/{quote(dag_id, safe='')}/grid"
