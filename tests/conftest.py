"""Fixtures shared by every tier.

The functions' configuration comes from template.yml: Globals' POWERTOOLS_* variables are set here,
before any handler module is imported, and each function's own variables are resolved against the
resources that tools.provision builds from the same template.
"""

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from hypothesis import settings
from moto import mock_aws

from tools.moto_dynamodb import apply_requests_atomically
from tools.provision import ACCOUNT_ID, LocalResources, provision
from tools.sam_template import ROOT, SamTemplate

EVENTS = ROOT / "events"
REGION = "us-east-1"
TEMPLATE = SamTemplate()

# Never reach a real account (or a developer's local endpoint) from a test.
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
os.environ.update({name: str(value) for name, value in TEMPLATE.global_environment.items()})

# Tests run buyers in threads against moto: make it apply each request atomically, as DynamoDB does.
apply_requests_atomically()

# In CI the property tests run the same examples every time (a failure there is a regression, not luck);
# on a laptop they explore, and hypothesis keeps what failed in .hypothesis/ to try first next time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


# Ticket ids, request ids and timestamps are random digits: a 3-digit CVC could match inside one by chance.
_RANDOM_TOKENS = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUIDs
    r"|\d{4}-\d{2}-\d{2}[ T][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?"  # ISO and log timestamps
    r"|\b\d{13}\b"  # epoch milliseconds (EMF)
)


def without_random_tokens(text: str) -> str:
    """`text` with its UUIDs and timestamps blanked, so a search for short secrets cannot hit them by chance."""
    return _RANDOM_TOKENS.sub("<random>", text)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


# A valid order: the body of the sample event `sam local invoke` sends.
VALID: dict[str, Any] = json.loads(load_event("purchase-valid.json")["body"])


def purchase_event(key: str | None = None, **changes: Any) -> dict[str, Any]:
    """POST /purchase's sample event with `changes` to its order, and an Idempotency-Key when `key` is given."""
    event = load_event("purchase-valid.json")
    event["body"] = json.dumps({**VALID, **changes})
    if key is not None:
        event["headers"]["idempotency-key"] = key
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:test-function"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "6f4e3b4a-2b7e-4d8e-9c1a-0c7d1c1c1c1c"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/23/[$LATEST]0123456789abcdef"
    remaining_ms: int = 30_000  # how long the invocation has left, whenever asked

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> LambdaContext:
    return cast(LambdaContext, FakeLambdaContext())


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def resources(aws: None, monkeypatch: pytest.MonkeyPatch) -> LocalResources:
    """The template's resources in moto, and every function's environment pointing at them."""
    local = provision(TEMPLATE, boto3.Session(region_name=REGION))
    for function in TEMPLATE.functions.values():
        for name, value in local.environment(function).items():
            monkeypatch.setenv(name, value)
    _forget_cold_start_state()
    return local


def _forget_cold_start_state() -> None:
    # Handlers build their settings and clients once per cold start; each test is a new cold start.
    from gigs import app as gigs_app
    from purchase import app as purchase_app
    from purchase import reconciler
    from tickets import app as tickets_app
    from worker import app as worker_app

    gigs_app._catalogue.cache_clear()
    purchase_app._shop.cache_clear()
    reconciler._adapters.cache_clear()
    tickets_app._ledger.cache_clear()
    worker_app._confirmations.cache_clear()


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the functions log, formatted exactly as Powertools writes it to CloudWatch."""
    from purchase.app import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    shared = logging.getLogger(logger.service)  # Powertools loggers of one service share this logger
    shared.addHandler(handler)
    try:
        yield stream
    finally:
        shared.removeHandler(handler)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    with captured_logs() as stream:
        yield stream


def receive_all(queue_url: str) -> list[Any]:
    """Every visible message (each then stays invisible for the queue's visibility timeout)."""
    sqs = boto3.client("sqs", region_name=REGION)
    messages: list[Any] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages.extend(batch)
    return messages


def sent_emails() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends[ACCOUNT_ID][REGION].sent_messages)


def reserve(*bodies: str) -> None:
    """Record the tickets these queue messages confirm, as the purchase does: seat taken, RESERVED.

    The worker emails only tickets the ledger holds; a message for any other ticket sends nothing.
    """
    from purchase.adapters import GigCatalogue, TicketLedger
    from purchase.models import Ticket, TicketMessage
    from purchase.settings import LedgerSettings

    settings = LedgerSettings.from_env()
    catalogue, ledger = GigCatalogue(settings.gigs_table_name), TicketLedger(settings)
    for body in bodies:
        message = TicketMessage.model_validate_json(body)
        gig = catalogue.find(message.gig.id)
        assert gig is not None, message.gig.id
        ticket = Ticket(
            ticket_id=message.ticket_id,
            gig_id=gig.details.id,
            buyer=message.buyer,
            price=gig.price,
            created_at=message.purchased_at,
        )
        ledger.reserve(ticket, gig, None)


def ticket_item(ticket_id: str) -> dict[str, Any]:
    """The ticket's item in the ledger, as plain values ({} if there is none)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(os.environ["TICKETS_TABLE_NAME"])
    item: dict[str, Any] = table.get_item(Key={"id": ticket_id}, ConsistentRead=True).get("Item", {})
    return item
