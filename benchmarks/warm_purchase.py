"""A warm purchase: the handler's latency against a bare handler that makes the same AWS calls.

    make bench      or      .venv/bin/python -m benchmarks.warm_purchase [--runs 300]

Both handlers run warm in this process (clients built, connections open) and take turns on
events/purchase-valid.json, against the same AWS: moto's server, in a process of its own so it does not
share this one's interpreter lock, provisioned from template.yml by tools/provision.py. The bare handler
parses the body and makes AWS_CALLS with plain boto3: the calls a valid purchase makes. The first warm-up
purchase records the calls the real handler makes; if they differ from AWS_CALLS the benchmark stops and
says how, so the comparison stays like for like. Prints the median and 90th percentile of each, the ratio,
and the median difference between the two in a run: what the handler adds to the AWS calls.
"""

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import botocore.client
from botocore import xform_name

# tests.conftest also gives this process fake credentials and the template's Globals variables.
from tests.conftest import REGION, FakeLambdaContext, load_event
from tools.provision import provision
from tools.sam_template import SamTemplate

PURCHASE = SamTemplate().functions["PurchaseFunction"]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class AwsCall:
    service: str  # boto3's client name
    operation: str  # the API's name, as in IAM and the AWS docs
    parameters: Callable[[Mapping[str, str], dict[str, Any]], dict[str, Any]]  # (environment, order) -> kwargs


def _seat_and_ticket(environment: Mapping[str, str], order: dict[str, Any]) -> dict[str, Any]:
    """The purchase's one transaction: the gig's seat counter below capacity, and the ticket recorded."""
    ticket_id = str(uuid.uuid4())
    return {
        "TransactItems": [
            {
                "Update": {
                    "TableName": environment["GIGS_TABLE_NAME"],
                    "Key": {"id": {"S": order["gigId"]}},
                    "UpdateExpression": "SET sold = if_not_exists(sold, :zero) + :one",
                    "ConditionExpression": "attribute_exists(id) AND (attribute_not_exists(sold) OR sold < #c)",
                    "ExpressionAttributeNames": {"#c": "capacity"},
                    "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}},
                }
            },
            {
                "Put": {
                    "TableName": environment["TICKETS_TABLE_NAME"],
                    "Item": {
                        "id": {"S": ticket_id},
                        "gigId": {"S": order["gigId"]},
                        "buyerName": {"S": order["name"]},
                        "buyerEmail": {"S": order["email"]},
                        "status": {"S": "RESERVED"},
                        "reconcileAfter": {"S": "2026-11-23T18:10:00.000Z"},
                    },
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
        ]
    }


# What a valid purchase asks of AWS, in order: change this list when the purchase's calls change.
AWS_CALLS = [
    AwsCall(
        "dynamodb",
        "GetItem",
        lambda environment, order: {"TableName": environment["GIGS_TABLE_NAME"], "Key": {"id": {"S": order["gigId"]}}},
    ),
    AwsCall("dynamodb", "TransactWriteItems", _seat_and_ticket),
    AwsCall(
        "sqs",
        "SendMessage",
        lambda environment, order: {
            "QueueUrl": environment["QUEUE_URL"],
            "MessageBody": json.dumps({"ticketId": str(uuid.uuid4()), "gigId": order["gigId"], "name": order["name"]}),
        },
    ),
]


class BareHandler:
    """Parses the order and makes AWS_CALLS with plain boto3 clients, built once: nothing else."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self._environment = environment
        session: Any = boto3.Session()  # one session, as boto3.client uses: the stubs want a literal service name
        self._clients = {call.service: session.client(call.service) for call in AWS_CALLS}

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        order = json.loads(event["body"])
        for call in AWS_CALLS:
            operation = getattr(self._clients[call.service], xform_name(call.operation))
            operation(**call.parameters(self._environment, order))
        return {"statusCode": 202, "body": json.dumps({"ticketId": str(uuid.uuid4())})}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in a child process on a free port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("moto's server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def calls_recorded() -> Iterator[list[tuple[str, str]]]:
    """Every AWS call any client makes meanwhile, as (service, operation)."""
    calls: list[tuple[str, str]] = []
    make_api_call = botocore.client.BaseClient.__dict__["_make_api_call"]

    def recording(client: Any, operation: str, parameters: dict[str, Any]) -> Any:
        calls.append((client.meta.service_model.service_name, operation))
        return make_api_call(client, operation, parameters)

    with patch.object(botocore.client.BaseClient, "_make_api_call", recording):
        yield calls


@contextlib.contextmanager
def output_discarded() -> Iterator[None]:
    """The handler's log lines and metrics go to /dev/null (on Lambda: a pipe to CloudWatch), not the terminal."""
    sys.stdout.flush()
    saved = os.dup(1)
    with Path(os.devnull).open("w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def purchase_event() -> dict[str, Any]:
    event = load_event("purchase-valid.json")
    if "idempotency-key" in event["headers"]:  # a purchase of its own each time, not a replay
        event = deepcopy(event)
        event["headers"]["idempotency-key"] = str(uuid.uuid4())
    return event


def timed(handler: Handler) -> float:
    event = purchase_event()
    started = time.perf_counter()
    response = handler(event, FakeLambdaContext())
    elapsed = time.perf_counter() - started
    if response["statusCode"] != 202:
        raise RuntimeError(f"not a purchase: {response}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300, help="purchases through each handler (default 300)")
    parser.add_argument("--warm-up", type=int, default=20, help="purchases through each before timing (default 20)")
    args = parser.parse_args()

    with moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        resources = provision(SamTemplate(), boto3.Session(region_name=REGION))
        environment = resources.environment(PURCHASE)
        os.environ.update(environment)
        sys.path.insert(0, str(PURCHASE.code_uri))
        from purchase.app import lambda_handler

        handlers: dict[str, Handler] = {
            "purchase handler": lambda_handler,
            "bare boto3 handler": BareHandler(environment),
        }
        with output_discarded(), calls_recorded() as calls:
            timed(lambda_handler)
        expected = [(call.service, call.operation) for call in AWS_CALLS]
        if calls != expected:
            sys.exit(f"The purchase now calls {calls}, the bare handler {expected}: update AWS_CALLS in {__file__}")

        times: dict[str, list[float]] = {name: [] for name in handlers}
        with output_discarded():
            for _ in range(args.warm_up):
                for handler in handlers.values():
                    timed(handler)
            for run in range(args.runs):
                for name in list(handlers)[:: 1 if run % 2 == 0 else -1]:  # taking turns: noise hits both alike
                    times[name].append(timed(handlers[name]))

    medians = {name: statistics.median(each) for name, each in times.items()}
    calls_made = ", ".join(operation for _, operation in expected)
    print(f"Warm purchase against moto's server, {args.runs} each, taking turns; AWS calls: {calls_made}")
    for name, each in times.items():
        p90 = statistics.quantiles(each, n=10)[-1]
        print(f"  {name:<20} median {medians[name] * 1000:6.2f} ms   p90 {p90 * 1000:6.2f} ms")
    ratio = medians["purchase handler"] / medians["bare boto3 handler"]
    # Each run times both, one after the other: the median of the differences is the handler's own cost.
    extra = statistics.median(a - b for a, b in zip(*times.values(), strict=True))
    print(f"  ratio (medians)      {ratio:.2f}x   the handler's own time (median difference): {extra * 1000:.2f} ms")


if __name__ == "__main__":
    main()
