"""The local HTTP API on a socket: connections it must hold, and requests no well-behaved client sends."""

import io
import socket
import threading
from contextlib import ExitStack
from http.client import HTTPResponse
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

from tests.e2e.local_stack import HttpResult, RunningStack, http, raw_http
from tools.local.api import MAX_BODY_BYTES, LocalApi
from tools.local.console import Console
from tools.local.runtime import FunctionRuntime, Invocation
from tools.sam_template import HttpRoute

# http.server's limits, which the local API keeps: 100 header lines, 64 KiB a line.
MAX_HEADERS = 100
MAX_LINE_BYTES = 64 * 1024
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


def _is_json_message(response: HttpResult, message: str) -> bool:
    """Whether `response` is worded as API Gateway words its own answers."""
    return response.headers["content-type"] == "application/json" and response.json() == {"message": message}


@pytest.mark.parametrize("length", [b"\xb2", b"-1", b"1e3", b"0x10", b"", b"1, 1"])
def test_a_content_length_that_is_not_digits_is_a_json_400(local_stack: RunningStack, length: bytes) -> None:
    # When ("\xb2" is Latin-1 for "²", which str.isdigit() takes for a digit)
    response = raw_http(local_stack.api_url, b"POST /purchase HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n{}")

    # Then
    assert response.status == 400
    assert _is_json_message(response, "Bad Request")


def test_content_lengths_that_disagree_are_a_json_400(local_stack: RunningStack) -> None:
    # When
    response = raw_http(
        local_stack.api_url, b"POST /purchase HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    )

    # Then
    assert response.status == 400
    assert _is_json_message(response, "Bad Request")


def test_a_body_shorter_than_its_content_length_is_a_json_400(local_stack: RunningStack) -> None:
    # When the client stops sending after 2 of the 10 bytes it announced
    response = raw_http(local_stack.api_url, b"POST /purchase HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}")

    # Then
    assert response.status == 400
    assert _is_json_message(response, "Bad Request")


def test_a_chunked_body_is_a_json_411_not_a_body_read_as_empty(local_stack: RunningStack) -> None:
    # When
    response = raw_http(
        local_stack.api_url, b"POST /purchase HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )

    # Then
    assert response.status == 411
    assert _is_json_message(response, "Length Required")


def test_a_content_length_of_thousands_of_digits_is_a_json_413(local_stack: RunningStack) -> None:
    # When
    response = raw_http(local_stack.api_url, b"POST /purchase HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n")

    # Then
    assert response.status == 413
    assert _is_json_message(response, "Request Entity Too Large")


@pytest.mark.parametrize("method", [b"get", b"Post", b"FOO", b"TRACE", b"CONNECT"])
def test_a_method_http_api_has_no_routes_for_is_a_json_501(local_stack: RunningStack, method: bytes) -> None:
    # When
    response = raw_http(local_stack.api_url, method + b" /gigs HTTP/1.1\r\n\r\n")

    # Then
    assert response.status == 501
    assert _is_json_message(response, "Not Implemented")


def test_more_headers_than_the_limit_are_a_json_431(local_stack: RunningStack) -> None:
    # When
    headers = b"".join(b"X-Header-%d: value\r\n" % number for number in range(MAX_HEADERS + 1))
    response = raw_http(local_stack.api_url, b"GET /gigs HTTP/1.1\r\n" + headers + b"\r\n")

    # Then
    assert response.status == 431
    assert _is_json_message(response, "Request Header Fields Too Large")


def test_a_header_over_the_limit_is_a_json_431(local_stack: RunningStack) -> None:
    # When
    response = raw_http(local_stack.api_url, b"GET /gigs HTTP/1.1\r\nCookie: " + b"a" * MAX_LINE_BYTES + b"\r\n\r\n")

    # Then
    assert response.status == 431
    assert _is_json_message(response, "Request Header Fields Too Large")


def test_a_request_line_over_the_limit_is_a_json_414(local_stack: RunningStack) -> None:
    # When
    response = raw_http(local_stack.api_url, b"GET /" + b"a" * MAX_LINE_BYTES + b" HTTP/1.1\r\n\r\n")

    # Then
    assert response.status == 414
    assert _is_json_message(response, "URI Too Long")


@pytest.mark.parametrize(
    "request_line",
    [
        b"",
        b"FOO",
        b"GET /gigs",
        b"POST /purchase",
        b"GET /gigs HTTP/1.1 extra",
        b"GET /gigs HTTX/1.1",
        b"GET /gigs HTTP/1",
    ],
)
def test_a_malformed_request_line_is_a_json_400_with_a_status_line(
    local_stack: RunningStack, request_line: bytes
) -> None:
    # When (raw_http fails if the answer has no status line)
    response = raw_http(local_stack.api_url, request_line + b"\r\n\r\n")

    # Then
    assert response.status == 400
    assert _is_json_message(response, "Bad Request")


def test_a_request_for_http_2_over_http_1_is_a_json_505(local_stack: RunningStack) -> None:
    # When
    response = raw_http(local_stack.api_url, b"GET /gigs HTTP/2.0\r\n\r\n")

    # Then
    assert response.status == 505
    assert _is_json_message(response, "HTTP Version Not Supported")


class _SlowFunction:
    """A function runtime whose invocation runs until the test lets it end, and says when it has begun."""

    def __init__(self) -> None:
        self.started, self.may_end = threading.Event(), threading.Event()

    def invoke(self, event: Any) -> Invocation:
        self.started.set()
        self.may_end.wait(timeout=30)
        return Invocation(request_id="r-1", duration_ms=1, response={"statusCode": 202})


def test_a_stopped_api_still_answers_the_request_it_accepted_and_says_when_it_has() -> None:
    # Given a request the API accepted, its function still running
    slow = _SlowFunction()
    routes = [HttpRoute("PurchaseFunction", "POST", "/purchase")]
    runtimes = cast(dict[str, FunctionRuntime], {"PurchaseFunction": slow})
    api = LocalApi(routes=routes, runtimes=runtimes, cors=None, console=Console(io.StringIO()))
    api.start()
    answers: list[HttpResult] = []
    client = threading.Thread(target=lambda: answers.append(http("POST", f"{api.url}/purchase", b"{}")))
    client.start()
    assert slow.started.wait(timeout=5)

    # When the API stops
    api.stop()

    # Then waiting for it ends once that request is answered, not before
    assert not api.wait_until_answered(timeout=0.2)  # its function is still running
    slow.may_end.set()
    assert api.wait_until_answered(timeout=5)
    client.join(timeout=5)
    assert [answer.status for answer in answers] == [202]
