from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID


class Status(StrEnum):
    RESERVED = "RESERVED"  # seat taken, confirmation queued
    CONFIRMED = "CONFIRMED"  # SES accepted the email
    PARKED = "PARKED"  # SES refused it for good; the message waits in the dead-letter queue
    RELEASED = "RELEASED"  # the seat was given back


@dataclass(frozen=True)
class TicketView:
    """What anyone holding a ticket id may see of it: never the name, the full address or card data.

    A dataclass, not a pydantic model: it is read from our own ledger, and pydantic's import would be about a
    fifth of this function's cold start.
    """

    ticket_id: UUID
    gig_id: str
    status: Status
    created_at: str  # ISO 8601, as the ledger records it
    email: str  # masked, as the logs show it: a***@example.com

    def to_json(self) -> dict[str, Any]:
        return {
            "ticketId": str(self.ticket_id),
            "gigId": self.gig_id,
            "status": str(self.status),
            "createdAt": self.created_at,
            "email": self.email,
        }
