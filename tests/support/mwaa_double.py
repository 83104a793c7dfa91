"""An MWAA API test double over real HTTP (AWS's rest-json protocol, as boto3 speaks it), in front of a
real Airflow: ``GetEnvironment`` describes the environment; ``InvokeRestApi`` forwards to the Airflow
API server's REST API (``/api/v2`` for Airflow 3) with its token, with MWAA's limits and error shapes
(Path 1–64 characters, ~10 s for Airflow to answer, ~6 MB answers; Airflow's 4xx as
``RestApiClientException``, its 5xx as ``RestApiServerException``, both HTTP 400). Like MWAA, it
syncs the bucket's ``dags/`` prefix into Airflow's DAG folder every ``sync_s`` seconds; a test can
hold the sync back (``sync_held``) to make MWAA's lag deterministic.

It imitates MWAA; Airflow itself is never faked (a test that only needs GetEnvironment gives an
address nothing answers at, and asks no REST API). boto3 reaches it through ``AWS_ENDPOINT_URL_MWAA``."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import httpx

PATH_MAX = 64
AIRFLOW_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
METHODS = {"GET", "PUT", "POST", "PATCH", "DELETE"}


class MwaaDouble:
    def __init__(
        self,
        name: str,
        airflow_url: str,
        airflow_version: str,
        s3: Any,
        bucket: str,
        dags_folder: Path,
        sync_s: float = 1.0,
    ) -> None:
        self.name, self.airflow_url, self.airflow_version = name, airflow_url.rstrip("/"), airflow_version
        self.s3, self.bucket, self.dags_folder, self.sync_s = s3, bucket, dags_folder, sync_s
        self.invoked: list[dict[str, Any]] = []
        self._token: str | None = None
        self._stop = threading.Event()
        self._syncing = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads = [
            threading.Thread(target=self._server.serve_forever, daemon=True),
            threading.Thread(target=self._sync_loop, daemon=True),
        ]

    def __enter__(self) -> MwaaDouble:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # -- GetEnvironment ---------------------------------------------------------------------------

    def environment(self) -> dict[str, Any]:
        return {
            "Environment": {
                "Name": self.name,
                "Arn": f"arn:aws:airflow:us-east-1:123456789012:environment/{self.name}",
                "AirflowVersion": self.airflow_version,
                "SourceBucketArn": f"arn:aws:s3:::{self.bucket}",
                "DagS3Path": "dags",
                "WebserverUrl": self.airflow_url.removeprefix("http://"),
                "Status": "AVAILABLE",
            }
        }

    # -- InvokeRestApi ----------------------------------------------------------------------------

    def invoke(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        """(HTTP status, body, x-amzn-ErrorType) of an InvokeRestApi call."""
        path, method = request.get("Path"), request.get("Method")
        self.invoked.append(request)
        if not isinstance(path, str) or not 1 <= len(path) <= PATH_MAX:
            return (
                400,
                {
                    "message": f"1 validation error detected: Value at 'path' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {PATH_MAX}"
                },
                "ValidationException",
            )
        if method not in METHODS:
            return 400, {"message": "Value at 'method' failed to satisfy constraint"}, "ValidationException"
        query = request.get("QueryParameters") or {}
        url = f"{self.airflow_url}{self._api_root()}{path}" + (f"?{urlencode(query, doseq=True)}" if query else "")
        try:
            answer = httpx.request(
                method,
                url,
                json=request.get("Body"),
                headers={"Authorization": f"Bearer {self._airflow_token()}"},
                timeout=AIRFLOW_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            return 500, {"message": f"An internal error occurred: {type(exc).__name__}"}, "InternalServerException"
        if len(answer.content) > MAX_RESPONSE_BYTES:
            return (
                500,
                {"message": "The response from the Apache Airflow REST API is too large"},
                "InternalServerException",
            )
        try:
            body = answer.json()
        except ValueError:
            body = {"detail": answer.text[:1000]}
        relayed = {"RestApiStatusCode": answer.status_code, "RestApiResponse": body}
        if answer.status_code >= 500:
            return 400, relayed | {"message": "Airflow server error"}, "RestApiServerException"
        if answer.status_code >= 400:
            return 400, relayed | {"message": "Airflow client error"}, "RestApiClientException"
        return 200, relayed, None

    def _api_root(self) -> str:
        return "/api/v2" if self.airflow_version.startswith("3.") else "/api/v1"

    def _airflow_token(self) -> str:
        if self._token is None:
            # Airflow 3's simple auth manager, every user an admin (as the test world configures it).
            response = httpx.get(f"{self.airflow_url}/auth/token", timeout=AIRFLOW_TIMEOUT_S)
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    # -- the DAG folder sync ----------------------------------------------------------------------

    @contextlib.contextmanager
    def sync_held(self) -> Iterator[None]:
        """No sync while inside (MWAA's sync lagging behind an apply: Airflow keeps the old files)."""
        with self._syncing:
            yield

    def sync(self) -> None:
        """Mirror ``s3://<bucket>/dags/`` into Airflow's DAG folder, as MWAA's workers do."""
        with self._syncing:
            self._sync()

    def _sync(self) -> None:
        wanted: dict[str, bytes] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="dags/")
        for page in pages:
            for item in page.get("Contents", []):
                relative = item["Key"].removeprefix("dags/")
                if relative and not relative.endswith("/"):
                    wanted[relative] = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
        for path in [p for p in self.dags_folder.rglob("*") if p.is_file()]:
            relative = path.relative_to(self.dags_folder).as_posix()
            if relative not in wanted and "__pycache__" not in relative:
                path.unlink()
        for relative, body in wanted.items():
            target = self.dags_folder / relative
            if not target.exists() or target.read_bytes() != body:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(body)

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.sync_s):
            try:
                self.sync()
            except Exception:  # noqa: BLE001, S112 - a missed sync is retried at the next tick
                continue


def _handler(double: MwaaDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any], error: str | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(raw)

        def _name(self, prefix: str) -> str | None:
            if not self.path.startswith(prefix):
                return None
            return unquote(self.path[len(prefix) :].split("?")[0])

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            name = self._name("/environments/")
            if name is None:
                self._answer(404, {"message": "Not found"}, "ResourceNotFoundException")
            elif name != double.name:
                self._answer(404, {"message": f"Environment {name} not found"}, "ResourceNotFoundException")
            else:
                self._answer(200, double.environment())

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            name = self._name("/restapi/")
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            if name != double.name:
                self._answer(404, {"message": f"Environment {name} not found"}, "ResourceNotFoundException")
                return
            self._answer(*double.invoke(request))

    return Handler
