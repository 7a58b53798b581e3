"""What POST /purchase accepts: the order, every field validated, the card checked and then kept secret."""

import hashlib
import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, cast

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from purchase.models import LONG_NUMBER, CamelModel

MAX_NAME_LENGTH = 100
# What a gig id looks like (queen-wembley-1986), as the gigs function reads one.
GIG_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_GIG_ID_LENGTH = 100

# How far ahead a card's expiry may be; anything later is a typo.
MAX_EXPIRY_YEARS_AHEAD = 20

# The rules for free text (names). First, no character of these Unicode categories. Names end up in emails and
# logs, where a control character (Cc: CR, LF, NUL...), a format character (Cf: bidi overrides and marks,
# zero-width spaces and joiners, the BOM, tag characters), a private-use (Co), unassigned (Cn) or lone
# surrogate (Cs) code point, or a line or paragraph separator (Zl, Zp) is an injection or a disguise,
# not part of a name. The exception: the zero-width non-joiner and joiner after a letter (or mark), where
# Persian and the Indic scripts write them in names (علی‌اکبر; Malayalam ends a word with one, ജോണ്‍).
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})
JOINERS = frozenset("\u200c\u200d")
# Nor these, which show as nothing although their categories are letters, symbols or marks: the Hangul
# fillers, the blank braille pattern, the combining grapheme joiner, two Khmer vowels Unicode deprecated and
# the Khitan filler.
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\U00016fe4")
# Second, no web or email address: the buyer's name is greeted in an email the shop sends to whatever address
# the order gives, and a link there would make the shop a relay for someone else's message. That is "://",
# "\\", "www.", "@", or a domain followed by a path, query, fragment or port ("t.me/offer", "evil.example?x").
# A bare domain ("shop.example") is let through: it cannot be told from a title written without a space
# ("Dr.med.", "Md.Rahim", Thai "ดร.สมชาย"). Checked as a mail client shows the name: in NFKC form (a fullwidth
# at sign or full stop is "@" or "."), ideographic full stops read as dots, and without the joiners and marks
# (variation selectors among them) that a link would drop or that would split a label ("ab\u0301.com").
ADDRESS_IN_NAME = re.compile(r"://|\\\\|www\.|@|[^\W_]\.(?:[^\W\d_]{2,}|xn--[\w-]+)\.?(?::\d+)?[/?#\\]", re.IGNORECASE)
_AS_READ = str.maketrans({"\u3002": ".", "\uff61": "."} | dict.fromkeys(JOINERS))


def _person_name(value: str) -> str:
    if any(_forbidden(value, at) for at in range(len(value))):
        raise PydanticCustomError(
            "forbidden_characters", "Must not contain line breaks, control, invisible or unassigned characters"
        )
    as_read = unicodedata.normalize("NFKC", value).translate(_AS_READ)
    as_read = "".join(ch for ch in as_read if unicodedata.category(ch)[0] != "M")
    if ADDRESS_IN_NAME.search(as_read):
        raise PydanticCustomError("address_in_name", "Must be a name, not a web or email address")
    # A card number pasted into the wrong field: it would be stored, queued and emailed with the name.
    if LONG_NUMBER.search(as_read):
        raise PydanticCustomError("card_number_in_name", "Must be a name, not a card number")
    # NFC, so that a name typed with combining accents is the same name, and the same length, as its
    # precomposed spelling.
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise PydanticCustomError("required", "Required")
    if len(value) > MAX_NAME_LENGTH:
        raise PydanticCustomError("too_long", "Must be at most {max} characters", {"max": MAX_NAME_LENGTH})
    if not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise PydanticCustomError("no_letter", "Must contain a letter")
    return value


def _forbidden(text: str, at: int) -> bool:
    character = text[at]
    if character in JOINERS:  # after a letter, and before a letter, a space or the end
        after = text[at + 1 : at + 2]
        return not (at > 0 and _in_a_word(text[at - 1]) and (not after or after.isspace() or _in_a_word(after)))
    return character in INVISIBLE or unicodedata.category(character) in FORBIDDEN_CATEGORIES


def _in_a_word(character: str) -> bool:
    return unicodedata.category(character)[0] in "LM"


def _email_address(value: str) -> str:
    """An address SES will deliver to: ASCII before the @ (SES has no SMTPUTF8), at most 64 characters
    there (RFC 5321), and an internationalised domain in the punycode form SES needs."""
    try:
        address = validate_email(value, check_deliverability=False, allow_smtputf8=False, strict=True)
    except EmailNotValidError as error:
        reason = {"reason": str(error)}
        raise PydanticCustomError("value_error", "Not a valid email address: {reason}", reason) from None
    # Always set when SMTPUTF8 is not allowed: an address that needs it was refused above.
    return cast(str, address.ascii_email)


def _gig_id(value: str) -> str:
    if len(value) > MAX_GIG_ID_LENGTH or not GIG_ID.fullmatch(value):
        raise PydanticCustomError("gig_id", "Must be a gig id such as 'queen-wembley-1986'")
    return value


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
EmailAddress = Annotated[StrictStr, AfterValidator(_email_address)]
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
    email: EmailAddress
    name_on_card: PersonName
    card_number: CardNumber
    # Year before month, so the month's check can see the (validated) year.
    card_expiry_year: WholeNumber
    card_expiry_month: WholeNumber
    card_cvc: CardCvc = Field(alias="cardCVC")
    disclaimer_accepted: Annotated[StrictBool, AfterValidator(_accepted)]

    def fingerprint(self) -> str:
        """What identifies this order for an Idempotency-Key: the gig and the buyer, normalised.

        The card is left out on purpose: the fingerprint is stored (as Powertools' payload hash and on the
        key's ledger item), and a hash of a card number is still card data.
        """
        identity = {"gigId": self.gig_id, "name": self.name, "email": self.email}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

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


def card_check_date(now: datetime | None = None) -> date:
    """The day card expiries are checked against: the date in the world's last time zone (UTC-12).

    A card is valid to the end of its expiry month where its holder is; on the last evening of a month in
    the Americas it is already the next month in UTC, and such a card must not be refused.
    """
    return ((now or datetime.now(UTC)) - timedelta(hours=12)).date()


def _today(info: ValidationInfo) -> date:
    context = info.context or {}
    today: date = context.get("today") or card_check_date()
    return today
