"""AWS edge: the MWAA environment named by ``MWAA_SP_MWAA_ENVIRONMENT`` — as GetEnvironment describes
it (its source bucket, the default bucket allow-list; its webserver, for links; its Airflow version)
and its Airflow's REST API through InvokeRestApi (the post-deploy check).

GetEnvironment is asked once per process and remembered; a failure is not remembered but retried at
most every few minutes. boto3 errors become :class:`~service.errors.StorageError` (GetEnvironment)
or :class:`~service.errors.AirflowUnanswered` (InvokeRestApi) here."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.domain.airflow_view import check_path
from service.errors import AirflowUnanswered, ConfigurationError, StorageError
from service.settings import Boto3Credentials

log = logging.getLogger("mwaa_sp.mwaa")
_RETRY_AFTER_S = 300.0
# InvokeRestApi: MWAA gives Airflow about 10 s and answers at most about 6 MB.
INVOKE_READ_TIMEOUT_S = 15
INVOKE_MAX_RESPONSE_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class RestAnswer:
    """Airflow's HTTP status and JSON body, as InvokeRestApi relays them (4xx included)."""

    status: int
    body: Any


class MwaaEnvironment:
    def __init__(
        self, name: str | None, region: str, endpoint: str | None, credentials: Boto3Credentials | None = None
    ) -> None:
        self.name = name
        self._credentials: Boto3Credentials = credentials or {}
        self._region = region
        self._endpoint = endpoint
        self._described: dict[str, Any] | None = None
        self._failed_at = float("-inf")
        self._error = ""
        self._lock = threading.Lock()
        self._invoker: Any = None

    def _client(self, read_timeout: float = 10) -> Any:
        config = Config(
            retries={"total_max_attempts": 2, "mode": "standard"},
            connect_timeout=3,
            read_timeout=read_timeout,
            # MWAA's API prefixes the host with "api."; an overridden endpoint is used as given.
            inject_host_prefix=self._endpoint is None,
        )
        return boto3.session.Session(**self._credentials).client(
            "mwaa", region_name=self._region, endpoint_url=self._endpoint, config=config
        )

    def describe(self) -> dict[str, Any]:
        """GetEnvironment's ``Environment``; ``StorageError`` when it cannot be had now."""
        if self.name is None:
            raise ConfigurationError("MWAA_SP_MWAA_ENVIRONMENT is not set")
        with self._lock:
            if self._described is not None:
                return self._described
            if time.monotonic() - self._failed_at < _RETRY_AFTER_S:
                raise StorageError(self._error)
            try:
                found = dict(self._client().get_environment(Name=self.name)["Environment"])
            except (BotoCoreError, ClientError, KeyError) as exc:
                self._failed_at = time.monotonic()
                self._error = f"GetEnvironment({self.name}) failed: {exc}"
                log.warning("MWAA environment not described", extra={"error": self._error})
                raise StorageError(self._error) from exc
            self._described = found
            return found

    def invoke_rest_api(self, path: str, query: dict[str, str]) -> RestAnswer:
        """``GET <path>`` of the environment's Airflow REST API. Airflow's 4xx come back as answers (a
        404 is an answer); MWAA's own refusals, Airflow's 5xx, timeouts and oversized answers raise
        :class:`~service.errors.AirflowUnanswered` naming what was asked."""
        if self.name is None:
            raise ConfigurationError("MWAA_SP_MWAA_ENVIRONMENT is not set")
        asked = f"InvokeRestApi GET {check_path(path)} on {self.name}"
        try:
            answer = self._invoke_client().invoke_rest_api(
                Name=self.name, Path=path, Method="GET", QueryParameters=query
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            relayed = exc.response.get("RestApiStatusCode")
            if code == "RestApiClientException" and isinstance(relayed, int):
                return RestAnswer(relayed, exc.response.get("RestApiResponse"))
            if code == "RestApiServerException":
                raise AirflowUnanswered(
                    f"{asked}: Airflow answered {relayed}: {_short(exc.response.get('RestApiResponse'))}"
                ) from exc
            raise AirflowUnanswered(f"{asked}: {code or 'error'}: {error.get('Message') or exc}") from exc
        except BotoCoreError as exc:
            raise AirflowUnanswered(f"{asked}: {exc}") from exc
        body = answer.get("RestApiResponse")
        if len(json.dumps(body, default=str)) > INVOKE_MAX_RESPONSE_BYTES:
            raise AirflowUnanswered(
                f"{asked}: the answer is larger than InvokeRestApi's {INVOKE_MAX_RESPONSE_BYTES} bytes"
            )
        return RestAnswer(int(answer.get("RestApiStatusCode") or 200), body)

    def _invoke_client(self) -> Any:
        with self._lock:
            if self._invoker is None:
                self._invoker = self._client(read_timeout=INVOKE_READ_TIMEOUT_S)
            return self._invoker


def _short(body: Any) -> str:
    text = json.dumps(body, default=str) if not isinstance(body, str) else body
    return text if len(text) <= 500 else text[:500] + "…"
