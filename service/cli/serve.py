"""``mwaa-sp serve`` and ``mwaa-sp db upgrade``: the service's own process, and its schema on purpose."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
from typing import TYPE_CHECKING

from service.cli.exits import EXIT_OSERR, ExitError

if TYPE_CHECKING:
    pass


from service.cli.backends import settings_for

log = logging.getLogger("mwaa_sp.cli")


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts: a busy port is one line and EX_OSERR."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it. Without it a response written in two parts (headers, then body)
    # waited for the client's delayed ACK: 40 ms on every answer (GET /health: 44 ms, with it 0.9 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ExitError(
            [f"cannot listen on {host}:{port}: {exc.strerror or exc} (MWAA_SP_HOST / MWAA_SP_PORT)"], EXIT_OSERR
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.api.connections import bounded_protocol
    from service.app import create_app

    settings = settings_for(args.sandbox, serving=True)
    sock = _listen(settings.host, settings.port)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        http=bounded_protocol(settings.header_timeout_s),
        # Forwarded headers are believed from MWAA_SP_TRUSTED_PROXIES only (service.api.middleware).
        proxy_headers=False,
        timeout_keep_alive=5,
    )
    log.info("listening", extra={"host": settings.host, "port": settings.port, "sandbox": settings.sandbox})
    # uvicorn drains on SIGTERM, then raises the signal again under the handler it found: this one
    # makes an orderly stop exit 0 (a pod "Completed", not "Error"), before uvicorn starts too.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def db_upgrade(args: argparse.Namespace) -> int:
    from service.settings import Settings
    from service.store.database import head, make_engine, open_database, revision_of, where

    settings = Settings.from_env()
    url = settings.effective_database_url
    before = None
    try:
        before = revision_of(make_engine(url))
    except Exception:  # noqa: BLE001 - an absent database has no revision; open_database says what is wrong
        before = None
    open_database(url, upgrade=True)
    after = head()
    if before == after:
        print(f"database {where(url)} is at schema {after}: nothing to do")
    else:
        print(f"database {where(url)}: schema {before or 'none'} → {after}")
    return 0
