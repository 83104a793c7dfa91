"""The MWAA environment named by ``MWAA_SP_MWAA_ENVIRONMENT``, as GetEnvironment describes it: its
source bucket (the default bucket allow-list) and its webserver (links to the Airflow UI).

Asked once per process and remembered; a failure is not remembered but retried at most every few
minutes. boto3 errors become :class:`~service.errors.StorageError` here."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.errors import ConfigurationError, StorageError
from service.settings import Boto3Credentials

log = logging.getLogger("mwaa_sp.mwaa")
_RETRY_AFTER_S = 300.0


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

    def _client(self) -> Any:
        config = Config(
            retries={"total_max_attempts": 2, "mode": "standard"},
            connect_timeout=3,
            read_timeout=10,
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
