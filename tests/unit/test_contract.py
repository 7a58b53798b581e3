"""The message between purchase and worker, held together from the consumer's side.

The worker (the consumer) says what it requires; the purchase and the reconciler (the producers) must send at
least that. The producers may send more, and the worker may come to require less, without breaking anything.
Messages wait up to 14 days in the dead-letter queue and a redrive replays them into whatever code runs then,
so the message as it was first sent (tests/fixtures/ticket-message-v1.json) must keep parsing in the worker.
"""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from purchase import models as sent
from tests.unit.test_orders import GIG
from tools.sam_template import ROOT
from worker import models as received

FIRST_MESSAGE = ROOT / "tests" / "fixtures" / "ticket-message-v1.json"


def field_paths(model: type[BaseModel], required_only: bool) -> set[str]:
    """Every field path of `model`'s JSON (by alias), e.g. `buyer.email`; only the required ones if asked."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})

    def walk(node: dict[str, Any], prefix: str) -> set[str]:
        if "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        paths = set()
        required = set(node.get("required", []))
        for name, child in node.get("properties", {}).items():
            if required_only and name not in required:
                continue
            paths.add(prefix + name)
            paths |= walk(child, f"{prefix}{name}.")
        return paths

    return walk(schema, "")


def message() -> sent.TicketMessage:
    return sent.TicketMessage(
        ticket_id=uuid4(),
        purchased_at=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        buyer=sent.Buyer(name="Ada Lovelace", email="ada@example.com"),
        gig=GIG,
    )


def test_everything_the_worker_requires_the_purchase_always_sends() -> None:
    required = field_paths(received.TicketMessage, required_only=True)
    always_sent = field_paths(sent.TicketMessage, required_only=True)

    assert required <= always_sent, f"the worker requires what the purchase may not send: {required - always_sent}"


def test_what_the_purchase_sends_parses_in_the_worker_with_nothing_it_needs_lost() -> None:
    original = message()

    parsed = received.TicketMessage.model_validate_json(original.model_dump_json(by_alias=True))

    assert parsed.model_dump(mode="json", by_alias=True) == {
        key: value
        for key, value in original.model_dump(mode="json", by_alias=True).items()
        if key in received.TicketMessage.model_json_schema(by_alias=True)["properties"]
    }


def test_the_first_message_ever_sent_still_parses_in_the_worker() -> None:
    body = FIRST_MESSAGE.read_text()

    parsed = received.TicketMessage.model_validate_json(body)

    assert str(parsed.ticket_id) == json.loads(body)["ticketId"]
    assert parsed.buyer.email == "ada@example.com"


@pytest.mark.parametrize("path", sorted(field_paths(received.TicketMessage, required_only=True)))
def test_the_worker_rejects_a_message_missing_anything_it_requires(path: str) -> None:
    body = json.loads(FIRST_MESSAGE.read_text())
    *parents, leaf = path.split(".")
    container = body
    for parent in parents:
        container = container[parent]
    del container[leaf]

    with pytest.raises(ValidationError):
        received.TicketMessage.model_validate(body)
