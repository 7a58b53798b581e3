"""The worker's view of the message on PurchaseQueue.

Purchase has its own model of it; tests/unit/test_contract.py proves that what purchase sends parses here.
"""

import datetime as dt
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    # A malformed message may still hold a buyer's name or address: keep values out of errors and logs.
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True, hide_input_in_errors=True)


class Buyer(CamelModel):
    name: str
    # The purchase validated it (for SES's rules); SES refuses what is not an address, and the worker parks
    # that. Not validated again here: the validator would cost every cold start about 20 ms.
    email: str = Field(min_length=3)


class GigDetails(CamelModel):
    id: str
    band_name: str
    venue: str
    city: str
    date: dt.date
    collection_point: str
    collection_time: str


class TicketMessage(CamelModel):
    ticket_id: UUID
    purchased_at: AwareDatetime
    buyer: Buyer
    gig: GigDetails
