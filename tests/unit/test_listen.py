"""The listening socket ``mwaa-sp serve`` binds before anything starts (``service.cli.serve``)."""

from __future__ import annotations

import socket

import pytest

from service.cli.exits import EXIT_OSERR, ExitError
from service.cli.serve import _listen


def test_connections_send_without_waiting_for_the_clients_acknowledgement() -> None:
    """TCP_NODELAY on the listening socket, inherited by every accepted connection: a response
    written in two parts does not wait 40 ms for the client's delayed ACK."""
    server = _listen("127.0.0.1", 0)
    try:
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        client = socket.create_connection(server.getsockname(), timeout=10)
        accepted, _ = server.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.close()


def test_a_busy_port_is_one_line_and_ex_oserr() -> None:
    first = _listen("127.0.0.1", 0)
    try:
        with pytest.raises(ExitError) as busy:
            _listen("127.0.0.1", first.getsockname()[1])
        assert busy.value.code == EXIT_OSERR
    finally:
        first.close()
