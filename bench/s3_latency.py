"""Bench: a TCP proxy in front of the S3 emulator that answers each request no sooner than a fixed
latency after it arrived, serving every connection at once — S3 as production sees it.

moto serves requests one after another on one interpreter and answers a small read in about 2 ms of
its CPU, so a bench straight against it measures how requests queue on the emulator. S3 answers
side by side, and AWS gives the median latency of small requests as tens of milliseconds (the S3
performance whitepaper, "Timeouts and retries"). Here each answer's first byte is held until
``latency`` after its request's first byte (or until moto answers, if later); moto's own work stays
inside that time, so what a caller does while its reads are in flight is measured as it would be
against S3. (The latency is counted from when the proxy reads a request, before it opens its own
connection to moto; an interim ``100 Continue`` goes through at once and the final answer waits.)

    .venv/bin/python bench/s3_latency.py LISTEN_PORT UPSTREAM_URL LATENCY_MS
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from urllib.parse import urlsplit

_CHUNK = 65536
_INTERIM = (b"HTTP/1.1 1", b"HTTP/1.0 1")
"""An interim answer (botocore asks ``Expect: 100-continue`` on every PUT): not the request's answer."""


async def _pump_requests(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, arrived: list[float], loop: asyncio.AbstractEventLoop
) -> None:
    """Client to upstream, as it comes; marks when a request starts (the first bytes after an answer)."""
    try:
        while data := await reader.read(_CHUNK):
            if not arrived:
                arrived.append(loop.time())
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()


async def _pump_answers(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    arrived: list[float],
    latency: float,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Upstream to client; an answer's first bytes wait until ``latency`` after its request arrived."""
    try:
        while data := await reader.read(_CHUNK):
            if arrived and not data.startswith(_INTERIM):
                wait = arrived.pop() + latency - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(port: int, upstream: str, latency: float) -> None:
    parts = urlsplit(upstream)
    host, upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()

    async def connection(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        first = await client_reader.read(_CHUNK)
        if not first:  # connected and left without asking anything
            client_writer.close()
            return
        arrived = [loop.time()]  # before the connection to moto: that hop is inside the latency too
        try:
            up_reader, up_writer = await asyncio.open_connection(host, upstream_port)
        except OSError:
            client_writer.close()
            return
        # Small requests and answers must not wait for a delayed ACK (40 ms on Linux) at either hop.
        for writer in (client_writer, up_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            up_writer.write(first)
            async with asyncio.TaskGroup() as pumps:
                pumps.create_task(_pump_requests(client_reader, up_writer, arrived, loop))
                pumps.create_task(_pump_answers(up_reader, client_writer, arrived, latency, loop))
        finally:
            up_writer.close()
            client_writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


def main() -> int:
    port, upstream, latency_ms = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # nothing to flush: connections just end
    asyncio.run(_serve(port, upstream, latency_ms / 1000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
