"""Looking a ticket up by its id, the one thing a buyer holds after the 202."""

from typing import Protocol
from uuid import UUID

from tickets.models import TicketView


class TicketNotFound(Exception):
    """No ticket has this id."""


class NotATicketId(Exception):
    """The id is not a ticket id (a UUID4): no ticket could have it."""


class LedgerUnavailable(Exception):
    """The ledger could not be read; the client may retry."""


class Ledger(Protocol):
    def find(self, ticket_id: UUID) -> TicketView | None: ...


def find_ticket(ledger: Ledger, ticket_id: str) -> TicketView:
    try:
        parsed = UUID(ticket_id)
    except ValueError:
        raise NotATicketId from None
    # Only the canonical form: one ticket, one URL.
    if parsed.version != 4 or str(parsed) != ticket_id:
        raise NotATicketId
    ticket = ledger.find(parsed)
    if ticket is None:
        raise TicketNotFound
    return ticket
