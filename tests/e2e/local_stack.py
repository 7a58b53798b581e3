"""`python -m tools.local` run as a user runs it, in a process of its own, for the end-to-end tests.

`RunningStack` is what the `local_stack` fixture yields: the URLs, the outbox, boto3 clients for the
embedded AWS, and the stack's console output, with helpers that wait for outcomes with a deadline.
"""

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.client import HTTPResponse
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import boto3

from tools.catalogue import sample_tickets
from tools.sam_template import ROOT, SamTemplate

START_TIMEOUT_SECONDS = 60  # a cold CI machine imports moto, boto3 and three functions
STOP_TIMEOUT_SECONDS = 10
_READY = re.compile(r"Local stack ready: frontend (?P<frontend>\S+)\s+api (?P<api>\S+)\s+aws (?P<aws>\S+)")


def wait_until[T](probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy result of `probe`, polled until `timeout`; fails the test saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        if result := probe():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


class StackOutput:
    """Every line the stack prints, collected as it prints them (read it in a failed test's message)."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def lines_with(self, *texts: str) -> list[str]:
        return [line for line in self.lines() if all(text in line for text in texts)]

    def search(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return next((found for line in self.lines() if (found := pattern.search(line))), None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        return wait_until(lambda: self.search(pattern), timeout, f"{pattern.pattern!r} in the output:\n{self}")

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._lock:
                self._lines.append(line.rstrip("\n"))


@dataclass
class HttpResult:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> HttpResult:
    """One request; 4xx and 5xx are results too, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 (http://127.0.0.1)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return HttpResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResult(error.code, error.headers, error.read())


def raw_http(url: str, request: bytes, timeout: float = 30) -> HttpResult:
    """`request` sent as is, on a connection of its own: for what no HTTP client would send.

    The connection is half-closed once `request` is sent, so a body shorter than its Content-Length ends
    there. Raises `http.client.BadStatusLine` if the answer does not start with a status line.
    """
    address = urlsplit(url)
    with socket.create_connection((str(address.hostname), int(address.port or 80)), timeout=timeout) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        method = request.split(b" ", 1)[0].decode("latin-1")
        response = HTTPResponse(connection, method=method)
        response.begin()
        with response:
            return HttpResult(response.status, response.headers, response.read())


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    output: StackOutput
    api_url: str
    frontend_url: str
    aws_endpoint: str
    outbox: Path
    logs: Path

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's embedded AWS."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def table(self, logical_id: str) -> Any:
        """A boto3 Table of the stack's embedded DynamoDB; locally, a table is named after its logical id."""
        return boto3.resource(
            "dynamodb",
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).Table(logical_id)

    def reserve_ticket(self, ticket_id: str, reconcile_after: str = "2999-01-01T00:00:00.000Z") -> dict[str, Any]:
        """Record `ticket_id` RESERVED in the ticket ledger, as a purchase does (the first sample ticket's buyer
        and gig); the worker emails no ticket the ledger does not hold. Returns the item.

        `reconcile_after`: when the reconciler takes it for stuck (by default, not in this test's lifetime).
        """
        ledger = SamTemplate().functions["PurchaseFunction"].environment["TICKETS_TABLE_NAME"]["Ref"]
        item = {**sample_tickets()[0], "id": ticket_id, "reconcileAfter": reconcile_after}
        self.table(ledger).put_item(Item=item)
        return item

    def queue_url(self, logical_id: str) -> str:
        """Locally, a queue is named after its logical id in template.yml."""
        url: str = self.client("sqs").get_queue_url(QueueName=logical_id)["QueueUrl"]
        return url

    def emails_about(self, ticket_id: str) -> list[Path]:
        return sorted(self.outbox.glob(f"*-{ticket_id}*.eml"))

    def wait_for_email(self, ticket_id: str, timeout: float = 20) -> EmailMessage:
        """The confirmation email for `ticket_id`, once the outbox has it."""
        (path, *_) = wait_until(lambda: self.emails_about(ticket_id), timeout, f"an email about ticket {ticket_id}")
        return message_from_bytes(path.read_bytes(), policy=policy.default)

    def function_log(self, function: str) -> str:
        path = self.logs / f"{function}.log"
        return path.read_text() if path.exists() else ""

    def stop(self, signum: signal.Signals = signal.SIGINT) -> int:
        """Send `signum` and return the exit code, failing if the stack does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the stack did not stop within {STOP_TIMEOUT_SECONDS} s:\n{self.output}") from None
        self.output.join(timeout=STOP_TIMEOUT_SECONDS)
        return code


def start_stack(state_dir: Path, *options: str) -> RunningStack:
    """`python -m tools.local` on free ports, with its outbox and logs under `state_dir`; returns once ready."""
    outbox, logs = state_dir / "outbox", state_dir / "logs"
    command = [sys.executable, "-m", "tools.local", "--api-port=0", "--frontend-port=0", "--aws-port=0"]
    command += [f"--outbox={outbox}", f"--logs={logs}", *options]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    output = StackOutput(process.stdout)

    def ready() -> re.Match[str] | None:
        if process.poll() is not None:  # no point waiting for a stack that is gone
            output.join(timeout=STOP_TIMEOUT_SECONDS)
            raise AssertionError(f"the stack exited with {process.returncode} before it was ready:\n{output}")
        return output.search(_READY)

    try:
        found = wait_until(ready, START_TIMEOUT_SECONDS, "the stack ready")
    except AssertionError as error:
        if process.poll() is not None:
            raise
        process.kill()
        process.wait()
        raise AssertionError(f"{error}; its output:\n{output}") from None
    return RunningStack(process, output, found["api"], found["frontend"], found["aws"], outbox, logs)
