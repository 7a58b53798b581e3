"""Placing an order: find the gig, issue a ticket, queue its confirmation."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import uuid4

from purchase.models import Buyer, GigDetails, PurchaseRequest, TicketMessage


class GigNotFound(Exception):
    def __init__(self, gig_id: str) -> None:
        super().__init__(f"no gig with id {gig_id!r}")
        self.gig_id = gig_id


class ServiceUnavailable(Exception):
    """A dependency (catalogue or queue) failed: the order was not taken, the buyer may retry."""


class Catalogue(Protocol):
    def find(self, gig_id: str) -> GigDetails | None: ...


class TicketQueue(Protocol):
    def send(self, message: TicketMessage) -> None: ...


def place_order(
    order: PurchaseRequest,
    catalogue: Catalogue,
    queue: TicketQueue,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TicketMessage:
    """Queue the ticket's confirmation and return it; raise before queueing if the gig is unknown.

    The card was validated with the order and goes no further: the message holds no card data.
    """
    gig = catalogue.find(order.gig_id)
    if gig is None:
        raise GigNotFound(order.gig_id)
    ticket = TicketMessage(
        ticket_id=uuid4(),
        purchased_at=clock(),
        buyer=Buyer(name=order.name, email=order.email),
        gig=gig,
    )
    queue.send(ticket)
    return ticket
