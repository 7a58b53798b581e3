"""POST /purchase's body: every bad input is rejected with its field named, and card data never shows."""

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from purchase.models import PurchaseRequest

TODAY = date(2026, 11, 23)

VALID: dict[str, Any] = {
    "gigId": "queen-wembley-1986",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "nameOnCard": "A LOVELACE",
    "cardNumber": "4242424242424242",
    "cardExpiryMonth": "09",
    "cardExpiryYear": "2031",
    "cardCVC": "123",
    "disclaimerAccepted": True,
}


def validate(**changes: Any) -> PurchaseRequest:
    return PurchaseRequest.model_validate({**VALID, **changes}, context={"today": TODAY})


def errors_of(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        validate(**changes)
    return {".".join(map(str, error["loc"])): error["msg"] for error in caught.value.errors()}


def test_a_complete_order_is_accepted_with_numbers_normalised() -> None:
    order = validate(cardNumber="4242 4242-4242 4242", cardExpiryMonth=9, cardExpiryYear=31)

    assert order.gig_id == "queen-wembley-1986"
    assert order.card_number.get_secret_value() == "4242424242424242"
    assert (order.card_expiry_month, order.card_expiry_year) == (9, 2031)


def test_every_missing_field_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        PurchaseRequest.model_validate({}, context={"today": TODAY})

    assert {error["loc"][0] for error in caught.value.errors()} == set(VALID)


def test_unknown_fields_are_ignored() -> None:
    assert validate(coupon="FREE").gig_id == VALID["gigId"]


@pytest.mark.parametrize(
    "email", ["not-an-email", "ada@", "@example.com", "ada@example", "a" * 250 + "@example.com", 42]
)
def test_an_invalid_email_is_rejected(email: object) -> None:
    assert "email" in errors_of(email=email)


@pytest.mark.parametrize("field", ["name", "nameOnCard"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Required"),
        ("   ", "Required"),
        ("x" * 101, "Must be at most 100 characters"),
        ("Eve\r\nBcc: everyone@example.com", "Must not contain line breaks or control characters"),
        ("Eve\nSmith", "Must not contain line breaks or control characters"),
        ("Eve\x00", "Must not contain line breaks or control characters"),
        ("Eve\u2028Smith", "Must not contain line breaks or control characters"),
        ("Eve \u202egnp.exe", "Must not contain line breaks or control characters"),
    ],
)
def test_a_bad_name_is_rejected_with_the_reason(field: str, value: str, message: str) -> None:
    assert errors_of(**{field: value}) == {field: message}


@pytest.mark.parametrize("name", ["Zoë O'Brien-Łukasiewicz", "山田 太郎", "x" * 100])
def test_real_world_names_are_accepted(name: str) -> None:
    assert validate(name=name, nameOnCard=name).name == name


def test_surrounding_whitespace_is_trimmed_from_names() -> None:
    assert validate(name="  Ada  ").name == "Ada"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("42424242421", "Must be 12 to 19 digits"),  # 11 digits
        ("4" * 20, "Must be 12 to 19 digits"),
        ("4242abcd42424242", "Must be 12 to 19 digits"),
        ("\uff14\uff12" * 8, "Must be 12 to 19 digits"),  # full-width digits are digits, but not ASCII
        ("4242424242424241", "Not a valid card number"),  # Luhn check fails
    ],
)
def test_a_bad_card_number_is_rejected(number: str, message: str) -> None:
    assert errors_of(cardNumber=number) == {"cardNumber": message}


def test_a_card_number_must_be_a_string() -> None:
    assert "cardNumber" in errors_of(cardNumber=4242424242424242)


@pytest.mark.parametrize("number", ["378282246310005", "6011111111111117", "5555555555554444", "4000056655665556"])
def test_valid_card_numbers_of_several_lengths_pass(number: str) -> None:
    assert validate(cardNumber=number).card_number.get_secret_value() == number


@pytest.mark.parametrize(
    ("month", "message"),
    [(0, "Must be a month from 1 to 12"), ("13", "Must be a month from 1 to 12"), (True, "Must be a number")],
)
def test_a_bad_expiry_month_is_rejected(month: object, message: str) -> None:
    assert errors_of(cardExpiryMonth=month) == {"cardExpiryMonth": message}


@pytest.mark.parametrize("month", ["x", 9.5, None])
def test_an_expiry_month_that_is_not_a_whole_number_is_rejected(month: object) -> None:
    assert "cardExpiryMonth" in errors_of(cardExpiryMonth=month)


def test_a_card_that_expired_last_year_is_rejected() -> None:
    assert errors_of(cardExpiryYear=2025) == {"cardExpiryYear": "The card has expired"}


def test_a_card_that_expired_earlier_this_year_is_rejected() -> None:
    assert errors_of(cardExpiryYear=2026, cardExpiryMonth=10) == {"cardExpiryMonth": "The card has expired"}


def test_a_card_expiring_this_month_is_still_valid() -> None:
    assert validate(cardExpiryYear="2026", cardExpiryMonth="11").card_expiry_month == 11


def test_an_expiry_year_decades_away_is_a_typo() -> None:
    assert errors_of(cardExpiryYear=2126) == {"cardExpiryYear": "Must be a year no later than 2046"}


@pytest.mark.parametrize("cvc", ["12", "12345", "12a", "", 123])
def test_a_bad_cvc_is_rejected(cvc: object) -> None:
    assert "cardCVC" in errors_of(cardCVC=cvc)


@pytest.mark.parametrize("cvc", ["123", "0123"])
def test_three_and_four_digit_cvcs_pass(cvc: str) -> None:
    assert validate(cardCVC=cvc).card_cvc.get_secret_value() == cvc


@pytest.mark.parametrize(
    ("accepted", "message"), [(False, "Must be accepted"), ("true", "Input should be a valid boolean")]
)
def test_the_disclaimer_must_be_accepted_with_a_real_boolean(accepted: object, message: str) -> None:
    assert errors_of(disclaimerAccepted=accepted) == {"disclaimerAccepted": message}


@pytest.mark.parametrize("gig_id", ["Queen Wembley", "queen--wembley", "-queen", "queen_wembley", "", "q" * 101])
def test_a_malformed_gig_id_is_rejected(gig_id: str) -> None:
    assert errors_of(gigId=gig_id) == {"gigId": "Must be a gig id such as 'queen-wembley-1986'"}


def test_card_data_never_appears_in_a_repr_or_an_error_message() -> None:
    order = validate()
    bad_card = "4242424242424241"

    with pytest.raises(ValidationError) as caught:
        validate(cardNumber=bad_card, cardCVC="98765")

    # str() is what a traceback or a careless log line would show.
    for text in (repr(order), str(order), order.model_dump_json(), str(caught.value)):
        assert VALID["cardNumber"] not in text
        assert bad_card not in text
        assert "98765" not in text
