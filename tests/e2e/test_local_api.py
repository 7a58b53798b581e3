"""The local HTTP API on a socket: connections it must hold, and requests no well-behaved client sends."""

import io
import socket
from contextlib import ExitStack
from http.client import HTTPResponse
from urllib.parse import urlsplit

from tests.e2e.local_stack import RunningStack, http
from tools.local.api import MAX_BODY_BYTES, LocalApi
from tools.local.console import Console

# Issue 6: the API must hold at least this many connections that it has not accepted yet.
PENDING_CONNECTIONS = 256
# Generous: with room in the listen backlog a connection is made at once; without, connect() waits for
# the kernel's retries of SYN and this is how the test fails.
CONNECT_TIMEOUT_SECONDS = 5


def test_connections_made_before_the_api_accepts_any_are_all_answered() -> None:
    # Given the API listening, but accepting nothing yet (as while busy), and clients connected meanwhile
    api = LocalApi(routes=[], runtimes={}, cors=None, console=Console(io.StringIO()))
    address = urlsplit(api.url)
    with ExitStack() as stack:
        connections = [
            stack.enter_context(
                socket.create_connection((str(address.hostname), int(address.port or 80)), CONNECT_TIMEOUT_SECONDS)
            )
            for _ in range(PENDING_CONNECTIONS)
        ]
        for connection in connections:
            connection.sendall(b"GET /anything HTTP/1.1\r\nHost: localhost\r\n\r\n")

        # When it starts accepting
        api.start()
        stack.callback(api.stop)

        # Then every one of them gets its answer
        statuses = []
        for connection in connections:
            response = HTTPResponse(connection)
            response.begin()
            statuses.append(response.status)
        assert statuses == [404] * PENDING_CONNECTIONS


def test_a_body_over_the_limit_is_refused_with_a_413_the_client_gets_to_read(local_stack: RunningStack) -> None:
    # Given a body over HTTP API's 10 MB, which the client sends whole before it reads the answer
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"

    # When it is posted
    response = http("POST", f"{local_stack.api_url}/purchase", body, {"content-type": "application/json"})

    # Then the client reads API Gateway's refusal rather than a reset connection
    assert response.status == 413
    assert response.json() == {"message": "Request Entity Too Large"}
