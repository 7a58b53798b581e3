"""Placing an order, with the catalogue and the queue replaced by fakes."""

from datetime import UTC, date, datetime

import pytest

from purchase.models import GigDetails, PurchaseRequest, TicketMessage
from purchase.orders import GigNotFound, ServiceUnavailable, place_order
from tests.conftest import without_random_tokens
from tests.unit.test_purchase_request import VALID

GIG = GigDetails(
    id="queen-wembley-1986",
    band_name="Queen",
    venue="Wembley Stadium",
    city="London",
    date=date(2028, 7, 12),
    collection_point="North gate",
    collection_time="16:30",
)
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


class Catalogue:
    def find(self, gig_id: str) -> GigDetails | None:
        return GIG if gig_id == GIG.id else None


class Queue:
    def __init__(self, down: bool = False) -> None:
        self.sent: list[TicketMessage] = []
        self.down = down

    def send(self, message: TicketMessage) -> None:
        if self.down:
            raise ServiceUnavailable("queue down")
        self.sent.append(message)


def order(**changes: object) -> PurchaseRequest:
    return PurchaseRequest.model_validate({**VALID, **changes}, context={"today": date(2026, 11, 23)})


def test_an_order_queues_one_ticket_for_the_buyer_and_the_gig() -> None:
    queue = Queue()

    ticket = place_order(order(), Catalogue(), queue, clock=lambda: NOW)

    assert queue.sent == [ticket]
    assert ticket.ticket_id.version == 4
    assert (ticket.buyer.name, ticket.buyer.email, ticket.gig, ticket.purchased_at) == (
        "Ada Lovelace",
        "ada@example.com",
        GIG,
        NOW,
    )


def test_each_order_gets_its_own_ticket_id() -> None:
    queue = Queue()

    place_order(order(), Catalogue(), queue)
    place_order(order(), Catalogue(), queue)

    assert queue.sent[0].ticket_id != queue.sent[1].ticket_id


def test_the_queued_message_carries_no_card_data() -> None:
    queue = Queue()

    place_order(order(), Catalogue(), queue)

    body = without_random_tokens(queue.sent[0].model_dump_json(by_alias=True))
    for secret in (VALID["cardNumber"], VALID["cardCVC"], VALID["nameOnCard"], "card"):
        assert secret not in body


def test_an_unknown_gig_queues_nothing() -> None:
    queue = Queue()

    with pytest.raises(GigNotFound):
        place_order(order(gigId="no-such-gig"), Catalogue(), queue)

    assert queue.sent == []


def test_a_queue_failure_reaches_the_caller() -> None:
    with pytest.raises(ServiceUnavailable):
        place_order(order(), Catalogue(), Queue(down=True))
