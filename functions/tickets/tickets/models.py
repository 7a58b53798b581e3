from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Status(StrEnum):
    RESERVED = "RESERVED"  # seat taken, confirmation queued
    CONFIRMED = "CONFIRMED"  # SES accepted the email
    PARKED = "PARKED"  # SES refused it for good; the message waits in the dead-letter queue
    RELEASED = "RELEASED"  # the seat was given back


class TicketView(BaseModel):
    """What anyone holding a ticket id may see of it: never the name, the full address or card data."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    ticket_id: UUID
    gig_id: str
    status: Status
    created_at: datetime
    email: str  # masked, as the logs show it: a***@example.com
