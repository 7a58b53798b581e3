"""The ticket the purchase records, the gig it is for, and the message it queues for the worker."""

import datetime as dt
import re
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# Twelve or more digits, up to three separators (spaces, dots, dashes...) between them: a card number.
LONG_NUMBER = re.compile(r"\d(?:[\W_]{0,3}\d){11,}")


class CamelModel(BaseModel):
    """JSON speaks camelCase (the frontends' field names); Python speaks snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)


def loggable(typed: str) -> str:
    """Text the buyer typed, fit for a log line: a card number typed into the wrong field is blanked."""
    return LONG_NUMBER.sub("<number>", typed)


def mask_email(address: str) -> str:
    """`ada@example.com` -> `a***@example.com`: enough to tell buyers apart in logs, not to mail them."""
    local, _, domain = address.rpartition("@")
    return loggable(f"{local[:1]}***@{domain}")


class Buyer(CamelModel):
    # Validated with the order (purchase.request); a plain string here, so that the reconciler, which only
    # reads tickets back, does not load the address validator.
    name: str
    email: str

    @property
    def masked_email(self) -> str:
        return mask_email(self.email)


class GigDetails(CamelModel):
    """The gig as the confirmation email shows it."""

    # Read from the catalogue as the gigs function reads it: a number where text belongs (the band "311") is text.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    id: str
    band_name: str
    venue: str
    city: str
    date: dt.date
    collection_point: str
    collection_time: str


class GigOnSale(CamelModel):
    """A gig as the purchase sees it in the catalogue: what the email shows, the price, and the seats."""

    details: GigDetails
    price: str
    capacity: int
    sold: int = 0

    @property
    def tickets_left(self) -> int:
        return max(self.capacity - self.sold, 0)


class Ticket(CamelModel):
    """A ticket as the ledger (TicketsTable) holds it; the card is not part of it."""

    ticket_id: UUID
    gig_id: str
    buyer: Buyer
    price: str
    created_at: AwareDatetime


class TicketMessage(CamelModel):
    """The message on PurchaseQueue: everything the email needs and nothing of the card.

    The worker keeps its own model of this message; tests/unit/test_contract.py holds the two together.
    """

    ticket_id: UUID
    purchased_at: AwareDatetime
    buyer: Buyer
    gig: GigDetails

    @classmethod
    def confirming(cls, ticket: Ticket, gig: GigDetails) -> "TicketMessage":
        return cls(ticket_id=ticket.ticket_id, purchased_at=ticket.created_at, buyer=ticket.buyer, gig=gig)
