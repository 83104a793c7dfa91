"""A slow or hostile request degrades its own answer, not the others'.

- Eight validates at once, each of a different 9 MB DAG (three seconds of compiling apiece): they
  queue for the bounded, capped compilers, while ``GET /workloads`` keeps answering at once.
- An S3 endpoint that accepts connections and never answers: ``/ready`` fails within its timeout,
  naming S3, while ``/health`` (liveness) and the registry still answer.
- Connections that never send a request, or send their headers a byte at a time, are closed once
  the header timeout has passed; the service goes on answering."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e
FAST_S = 3.0
"""An answer that waits for nobody's compile: a registry read takes milliseconds; 19 s was measured
before the bulkheads, with eight validates running."""


def _big_dag(n: int) -> bytes:
    body = "".join(f"v{i:07d} = {i}\n" for i in range(300_000))
    source = f"# DAG {n}\nfrom airflow import DAG\n{body}"
    padding = "# " + "x" * 97 + "\n"
    return (source + padding * ((9_000_000 - len(source)) // len(padding))).encode()


def test_eight_big_validates_leave_the_registry_answering(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    specs = [WorkloadSpec(name=f"big{n}", dag_name=f"big{n}.py", bucket=bucket) for n in range(8)]
    for n, spec in enumerate(specs):
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=_big_dag(n))
    service = service_factory()
    answers: list[httpx.Response] = []

    def validate(spec: WorkloadSpec) -> None:
        answers.append(httpx.post(f"{service.url}/v1/validate", json=request(descriptor(spec)), timeout=300))

    with ThreadPoolExecutor(8) as clients:
        futures = [clients.submit(validate, spec) for spec in specs]
        reads: list[tuple[float, int, int]] = []
        while not all(f.done() for f in futures):
            answered = sum(f.done() for f in futures)
            started = time.monotonic()
            listed = httpx.get(f"{service.url}/workloads", timeout=60)
            reads.append((time.monotonic() - started, answered, len(futures) - answered))
            assert listed.status_code == 200
        for future in futures:
            future.result()
    # Measured while compiles were under way: one validate had its answer, others did not yet.
    during = [elapsed for elapsed, answered, pending in reads if answered and pending]
    assert len(during) >= 3, reads
    assert max(during) < FAST_S, reads
    # Each validate got its own answer: a verdict, or — past the compilers' wait — a refusal to retry.
    for answer in answers:
        assert answer.status_code in (200, 500), answer.text
        if answer.status_code == 200:
            assert answer.json() == {"valid": True}
        else:
            assert "every DAG compiler was busy" in answer.json()["error"]


class _BlackHole:
    """A TCP endpoint that accepts connections and never says a word: a hung S3 endpoint."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


def test_a_hanging_s3_endpoint_makes_ready_fail_within_its_timeout(service_factory: Any) -> None:
    hole = _BlackHole()
    try:
        service = service_factory(endpoint=hole.url, ready_timeout="2")
        started = time.monotonic()
        ready = httpx.get(f"{service.url}/ready", timeout=60)
        elapsed = time.monotonic() - started
        assert ready.status_code == 503, ready.text
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert checks["s3"] == {"name": "s3", "ok": False, "detail": "no answer within 2 s"}
        assert checks["database"]["ok"] is True
        assert elapsed < 2 + FAST_S, elapsed
        assert httpx.get(f"{service.url}/health", timeout=FAST_S).status_code == 200
        assert httpx.get(f"{service.url}/workloads", timeout=FAST_S).status_code == 200
    finally:
        hole.close()


def test_ready_when_the_database_and_s3_answer(service_factory: Any) -> None:
    service = service_factory()
    ready = httpx.get(f"{service.url}/ready", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert {c["name"]: c["ok"] for c in ready.json()["checks"]} == {"database": True, "schema": True, "s3": True}


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except BlockingIOError:
        return False


def test_idle_and_trickling_connections_are_dropped(service_factory: Any) -> None:
    service = service_factory(header_timeout="1")
    host, port = "127.0.0.1", service.port
    idle = [socket.create_connection((host, port)) for _ in range(200)]
    trickling = [socket.create_connection((host, port)) for _ in range(20)]
    for sock in trickling:
        sock.sendall(b"GET /workloads HTTP/1.1\r\nHost: x\r\n")  # never the blank line that ends headers
    for sock in idle + trickling:
        sock.setblocking(False)
    try:
        assert httpx.get(f"{service.url}/health", timeout=FAST_S).status_code == 200
        wait_until(lambda: all(_closed(s) for s in idle + trickling), what="the server closing them", timeout=60)
        # Keep-alive still works for a client that does send its requests.
        with httpx.Client(base_url=service.url, timeout=FAST_S) as client:
            assert [client.get("/health").status_code for _ in range(3)] == [200, 200, 200]
    finally:
        for sock in idle + trickling:
            sock.close()
