"""The message between purchase and worker: what purchase sends, the worker reads."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from purchase import models as sent
from tests.unit.test_orders import GIG
from worker import models as received


def message() -> sent.TicketMessage:
    return sent.TicketMessage(
        ticket_id=uuid4(),
        purchased_at=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        buyer=sent.Buyer(name="Ada Lovelace", email="ada@example.com"),
        gig=GIG,
    )


def test_what_purchase_sends_parses_in_the_worker_with_nothing_lost() -> None:
    original = message()

    parsed = received.TicketMessage.model_validate_json(original.model_dump_json(by_alias=True))

    assert parsed.model_dump(mode="json") == original.model_dump(mode="json")


def test_both_sides_agree_on_every_field_name() -> None:
    def fields(model: type[BaseModel]) -> set[str]:
        return set(model.model_json_schema(by_alias=True)["properties"])

    assert fields(sent.TicketMessage) == fields(received.TicketMessage)
    assert fields(sent.Buyer) == fields(received.Buyer)
    assert fields(sent.GigDetails) == fields(received.GigDetails)


def test_the_worker_rejects_a_message_without_a_ticket_id() -> None:
    body = message().model_dump(mode="json", by_alias=True)
    del body["ticketId"]

    with pytest.raises(ValidationError):
        received.TicketMessage.model_validate(body)
