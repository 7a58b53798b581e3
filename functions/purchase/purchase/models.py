"""What the purchase API accepts, and the message it puts on the queue for the worker."""

import datetime as dt
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    StrictBool,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

MAX_NAME_LENGTH = 100
# How far ahead a card's expiry may be; anything later is a typo.
MAX_EXPIRY_YEARS_AHEAD = 20

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


class CamelModel(BaseModel):
    """JSON speaks camelCase (the frontends' field names); Python speaks snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)


def _person_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("required", "Required")
    if len(value) > MAX_NAME_LENGTH:
        raise PydanticCustomError("too_long", "Must be at most {max} characters", {"max": MAX_NAME_LENGTH})
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES or ch in _BIDI_CONTROLS for ch in value):
        # Names end up in emails and logs; a CR/LF or bidi override there is an injection, not a name.
        raise PydanticCustomError("control_characters", "Must not contain line breaks or control characters")
    return value


def _gig_id(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH or not value.isascii() or not _is_slug(value):
        raise PydanticCustomError("gig_id", "Must be a gig id such as 'queen-wembley-1986'")
    return value


def _is_slug(value: str) -> bool:
    parts = value.split("-")
    return all(part and part.isalnum() and part == part.lower() for part in parts)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_number(value: SecretStr) -> SecretStr:
    digits = value.get_secret_value().replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19):
        raise PydanticCustomError("card_number", "Must be 12 to 19 digits")
    if not _luhn_valid(digits):
        raise PydanticCustomError("card_number_checksum", "Not a valid card number")
    return SecretStr(digits)


def _card_cvc(value: SecretStr) -> SecretStr:
    cvc = value.get_secret_value()
    if not (cvc.isascii() and cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise PydanticCustomError("card_cvc", "Must be 3 or 4 digits")
    return value


def _whole_number(value: object) -> object:
    # JSON true/false would otherwise pass as 1/0.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Must be a number")
    return value


def _accepted(value: bool) -> bool:
    if not value:
        raise PydanticCustomError("disclaimer", "Must be accepted")
    return value


PersonName = Annotated[str, AfterValidator(_person_name)]
GigId = Annotated[str, AfterValidator(_gig_id)]
CardNumber = Annotated[SecretStr, AfterValidator(_card_number)]
CardCvc = Annotated[SecretStr, AfterValidator(_card_cvc)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class PurchaseRequest(CamelModel):
    """The body of `POST /purchase`.

    Card fields are `SecretStr` so that no repr, log line or error message can show them, and
    `hide_input_in_errors` keeps rejected values out of validation errors. Validate with
    `context={"today": date}` to pin the expiry check to a day.
    """

    model_config = ConfigDict(hide_input_in_errors=True, extra="ignore")

    gig_id: GigId
    name: PersonName
    email: EmailStr
    name_on_card: PersonName
    card_number: CardNumber
    # Year before month, so the month's check can see the (validated) year.
    card_expiry_year: WholeNumber
    card_expiry_month: WholeNumber
    card_cvc: CardCvc = Field(alias="cardCVC")
    disclaimer_accepted: Annotated[StrictBool, AfterValidator(_accepted)]

    @field_validator("card_expiry_year")
    @classmethod
    def _expiry_year(cls, year: int, info: ValidationInfo) -> int:
        if 0 <= year < 100:
            year += 2000
        this_year = _today(info).year
        if year < this_year:
            raise PydanticCustomError("card_expired", "The card has expired")
        if year > this_year + MAX_EXPIRY_YEARS_AHEAD:
            raise PydanticCustomError(
                "card_expiry_year", "Must be a year no later than {max}", {"max": this_year + MAX_EXPIRY_YEARS_AHEAD}
            )
        return year

    @field_validator("card_expiry_month")
    @classmethod
    def _expiry_month(cls, month: int, info: ValidationInfo) -> int:
        if not 1 <= month <= 12:
            raise PydanticCustomError("card_expiry_month", "Must be a month from 1 to 12")
        today = _today(info)
        # A card is valid to the end of its expiry month.
        if info.data.get("card_expiry_year") == today.year and month < today.month:
            raise PydanticCustomError("card_expired", "The card has expired")
        return month


def _today(info: ValidationInfo) -> date:
    context = info.context or {}
    today: date = context.get("today") or datetime.now(UTC).date()
    return today


class Buyer(CamelModel):
    name: str
    email: EmailStr


class GigDetails(CamelModel):
    """The gig as the confirmation email shows it."""

    id: str
    band_name: str
    venue: str
    city: str
    date: dt.date
    collection_point: str
    collection_time: str


class TicketMessage(CamelModel):
    """The message on PurchaseQueue: everything the email needs and nothing of the card.

    The worker keeps its own model of this message; tests/unit/test_contract.py holds the two together.
    """

    ticket_id: UUID
    purchased_at: AwareDatetime
    buyer: Buyer
    gig: GigDetails
