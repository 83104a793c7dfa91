"""``service.aws.s3.Dispatch``: a read counts as sent when botocore hands its request to the network,
not when it is answered; a retry does not count again; a read that never sends counts when it ends.
Against a local HTTP endpoint that answers as the test says (botocore's own client, real sockets)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.aws.s3 import S3, Dispatch
from service.errors import StorageError
from service.settings import Settings

DEADLINE_S = 60.0


class _Endpoint(ThreadingHTTPServer):
    """HEAD ``/b/held`` waits for ``answer`` before its 404; ``/b/retried`` answers 503 once; every
    other key is missing."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.asked: list[str] = []
        self.answer = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Endpoint

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self.server.asked.append(self.path)
        if self.path == "/b/held":
            self.server.answer.wait(DEADLINE_S)
        status = 503 if self.path == "/b/retried" and self.server.asked.count(self.path) == 1 else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[_Endpoint]:
    server = _Endpoint()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.answer.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def s3(endpoint: _Endpoint, tmp_path: Path) -> S3:
    endpoint_url = f"http://127.0.0.1:{endpoint.server_address[1]}"
    return S3(Settings(data_dir=tmp_path, s3_endpoint=endpoint_url, emulator=True, aws_credentials=("t", "t")).aws)


def test_a_read_counts_as_sent_when_its_request_leaves_not_when_it_is_answered(s3: S3, endpoint: _Endpoint) -> None:
    dispatch = Dispatch()
    with ThreadPoolExecutor(1) as pool:
        read = pool.submit(dispatch.track(s3.head), "b", "held")
        assert dispatch.wait(DEADLINE_S)
        assert not read.done()  # its answer is still held by the endpoint
        endpoint.answer.set()
        assert read.result(DEADLINE_S) is None
    assert endpoint.asked == ["/b/held"]


def test_a_retried_read_counts_once(s3: S3, endpoint: _Endpoint) -> None:
    dispatch = Dispatch()
    retried, not_yet_run = dispatch.track(s3.head), dispatch.track(s3.head)
    assert retried("b", "retried") is None
    assert endpoint.asked == ["/b/retried", "/b/retried"]
    assert not dispatch.wait(0)  # two sends of one read did not count for the other read
    assert not_yet_run("b", "other") is None
    assert dispatch.wait(0)


def test_a_read_refused_before_it_is_sent_counts_when_it_ends(s3: S3, endpoint: _Endpoint) -> None:
    dispatch = Dispatch()
    with pytest.raises(StorageError):
        dispatch.track(s3.head)("not/a bucket", "key")  # botocore refuses the name before sending
    assert dispatch.wait(0)
    assert endpoint.asked == []
