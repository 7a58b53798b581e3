"""Properties of POST /purchase for any request at all: a clear answer, in JSON, that gives nothing away.

Whatever the body (any JSON document, any bytes, an order with any field replaced by anything) and
whatever the headers, the purchase handler answers one of the statuses it documents, with a JSON body
that has a `message`, and neither that answer nor any log line carries the card number, the CVC, or a
long number the request held.
"""

import base64
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from purchase.app import lambda_handler
from tests.conftest import REGION, TEMPLATE, VALID, captured_logs, load_event, without_random_tokens
from tools.provision import ACCOUNT_ID, provision

DOCUMENTED_STATUSES = {202, 400, 404, 409, 413, 422}
# The secrets every generated order carries: Luhn-valid, and unlike anything else in a request.
CARD_NUMBER = "4916338506082832"
CVC = "7319"
_LONG_NUMBER = re.compile(r"\d{12,}")

# --- What a hostile client can send ----------------------------------------------------------------------

# Characters that have broken text handling somewhere: controls, bidi and zero-width marks, tags, private
# use, noncharacters, lone surrogates, combining marks, separators. Hypothesis rarely draws them unasked.
TRICKY = (
    "\x00\t\n\r\x7f\x85\u00a0\u0301\u061c\u200b\u200d\u200e\u200f\u2028\u2029\u202e\u2066"
    "\ufeff\uffff\ue000\ud800\udfff\U000e0041\U0001f600"
)
# Every code point, lone surrogates included (hypothesis leaves them out unless asked).
any_text = st.text(st.characters(exclude_categories=()) | st.sampled_from(TRICKY), max_size=120)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text
any_json = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5),
    max_leaves=20,
)
# What a card number typed into the wrong field looks like: long runs of ASCII digits (`\d` would draw any
# script's digits, which no gig id holds), with or without separators.
numbers = st.from_regex(r"[0-9]{12,19}", fullmatch=True) | st.from_regex(r"([0-9]{4}[ -]){3}[0-9]{4}", fullmatch=True)
slugs = st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)
local_parts = st.from_regex(r"[a-zA-Z0-9._+-]{1,70}", fullmatch=True) | any_text
emails = st.builds("{}@{}".format, local_parts, st.sampled_from(["example.com", "bücher.example", "4242.example"]))


def one_tricky_character(valid: str) -> st.SearchStrategy[str]:
    """`valid` with one tricky character slipped in somewhere: the input most likely to get past a check."""
    return st.builds(
        lambda character, at: valid[:at] + character + valid[at:], st.sampled_from(TRICKY), st.integers(0, len(valid))
    )


field_values = {
    "gigId": st.sampled_from(["no-such-gig", "QUEEN"]) | slugs | numbers | numbers.map("gig-{}".format) | any_json,
    "name": st.one_of(one_tricky_character("Ada Lovelace"), one_tricky_character("Zoë"), any_text, numbers, any_json),
    "email": one_tricky_character("ada@example.com") | emails | numbers | any_json,
    "nameOnCard": st.one_of(one_tricky_character("A LOVELACE"), one_tricky_character("Z"), any_text, any_json),
    "cardNumber": st.sampled_from(["4916 3385 0608 2832", "4916-3385-0608-2832", "4916338506082833"]) | any_json,
    "cardExpiryMonth": st.integers(-1, 14) | any_json,
    "cardExpiryYear": st.integers(2000, 2100) | any_json,
    "cardCVC": any_json,
    "disclaimerAccepted": st.booleans() | any_json,
}


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    """A valid order with a field or two replaced by anything, or removed, and maybe some fields added."""
    order: dict[str, Any] = {**VALID, "cardNumber": CARD_NUMBER, "cardCVC": CVC}
    # Free text and ids twice as often as the rest: that is where hostile input does harm.
    fields = st.sampled_from([*field_values, "gigId", "name", "email", "nameOnCard"])
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        field = draw(fields)
        if draw(st.integers(0, 9)) == 0:
            order.pop(field, None)
        else:
            order[field] = draw(field_values[field])
    return {**draw(st.dictionaries(any_text, any_json, max_size=2)), **order}


# Shapes no one types, but anyone can send: nesting bombs, huge numbers, bodies near and over the size limit.
pathological = st.one_of(
    st.builds(
        lambda opening, depth: opening * depth,
        st.sampled_from(["[", "{", '{"a":', '[{"gigId":']),
        # CPython's JSON parser gives up (RecursionError) at about 10,000 levels; 16 KiB holds 16,384.
        st.integers(1, 17_000) | st.integers(9_000, 16_384),
    ),
    st.builds(lambda digits: "1" * digits, st.integers(4000, 17_000)),
    st.builds(lambda size: json.dumps({**VALID, "name": "x" * size}), st.integers(16_000, 17_000)),
)
# Header values as API Gateway passes them: any text, up to its limits; an Idempotency-Key among them.
header_values = st.text(st.characters(codec="latin-1"), max_size=200) | st.text(
    st.characters(codec="latin-1"), min_size=200, max_size=8_000
)
# Mostly no key, or a well-formed one: a bad key is a 400 before the order is even read.
idempotency_keys = st.one_of(st.none(), st.none(), st.none(), st.uuids().map(str), header_values)
headers = st.builds(
    lambda others, key: others if key is None else {**others, "idempotency-key": key},
    st.dictionaries(st.from_regex(r"[a-z0-9-]{1,30}", fullmatch=True), header_values, max_size=8),
    idempotency_keys,
)


def as_text(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)


@st.composite
def requests(draw: st.DrawFn, bodies: st.SearchStrategy[str | bytes]) -> tuple[dict[str, Any], bytes]:
    """A POST /purchase event with one of `bodies`, and the body's bytes as the client sent them.

    API Gateway passes text as it is, and a body that is not text (or not UTF-8) base64-encoded.
    """
    event = load_event("purchase-valid.json")
    event["headers"] = {**event["headers"], **draw(headers)}
    body = draw(bodies)
    if isinstance(body, str) and draw(st.booleans()):
        event.update(body=body, isBase64Encoded=False)
        return event, body.encode("utf-8", "surrogatepass")
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    return event, raw


# --- The properties -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop() -> Iterator[None]:
    """The template's resources in moto, once for every example: examples add tickets, which is fine."""
    from tests.conftest import _forget_cold_start_state

    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        local = provision(TEMPLATE, boto3.Session(region_name=REGION))
        for name, value in local.environment(TEMPLATE.functions["PurchaseFunction"]).items():
            monkeypatch.setenv(name, value)
        _forget_cold_start_state()
        yield
    _forget_cold_start_state()


@pytest.fixture(scope="module")
def log_stream() -> Iterator[io.StringIO]:
    with captured_logs() as stream:  # one for the module: hypothesis runs many examples in one test
        yield stream


PROPERTY_SETTINGS = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@PROPERTY_SETTINGS
@given(request=requests(st.one_of(any_json.map(as_text), any_text, st.binary(max_size=17_000), pathological)))
def test_any_body_gets_a_documented_status_and_a_json_message_that_leaks_nothing(
    request: tuple[dict[str, Any], bytes], shop: None, log_stream: io.StringIO, lambda_context: LambdaContext
) -> None:
    check_answer(request, log_stream, lambda_context)


@PROPERTY_SETTINGS
@given(request=requests(orders().map(as_text)))
def test_any_order_gets_a_documented_status_and_a_json_message_that_leaks_nothing(
    request: tuple[dict[str, Any], bytes], shop: None, log_stream: io.StringIO, lambda_context: LambdaContext
) -> None:
    check_answer(request, log_stream, lambda_context)


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(data=st.data(), field=st.sampled_from(["gigId", "name", "email", "nameOnCard"]))
def test_a_valid_order_with_one_odd_character_is_taken_or_refused_naming_that_field(
    data: st.DataObject, field: str, shop: None, log_stream: io.StringIO, lambda_context: LambdaContext
) -> None:
    order = {**VALID, "cardNumber": CARD_NUMBER, "cardCVC": CVC}
    order[field] = data.draw(one_tricky_character(order[field]))
    request = data.draw(requests(st.just(as_text(order))))

    response = check_answer(request, log_stream, lambda_context)

    fields = [error["field"] for error in json.loads(response["body"]).get("errors", [])]
    # Taken; or refused naming that field (or the Idempotency-Key header, when the one drawn is bad).
    assert response["statusCode"] == 202 or fields in ([field], ["Idempotency-Key"]), response


def check_answer(
    request: tuple[dict[str, Any], bytes], log_stream: io.StringIO, context: LambdaContext
) -> dict[str, Any]:
    """The handler's answer to `request`, checked against the properties every answer has."""
    request_event, sent = request
    logged_before = len(log_stream.getvalue())

    response: dict[str, Any] = lambda_handler(request_event, context)

    event(f"status {response['statusCode']}")
    assert response["statusCode"] in DOCUMENTED_STATUSES, response
    body = json.loads(response["body"])
    assert isinstance(body, dict), response
    assert isinstance(body.get("message"), str), response
    assert body["message"], response
    # The function's own ARN (in every log line) holds the account id, a 12-digit number of ours.
    logged = without_random_tokens(log_stream.getvalue()[logged_before:]).replace(ACCOUNT_ID, "<account>")
    answered = without_random_tokens(response["body"])
    for secret in (CARD_NUMBER, CVC):
        assert secret not in logged
        assert secret not in answered
    typed = sent.decode("utf-8", "replace")
    for number in set(_LONG_NUMBER.findall(typed)) | set(_LONG_NUMBER.findall(re.sub(r"[ -]", "", typed))):
        assert number not in re.sub(r"[ -]", "", logged), f"{number} from the request reached a log line"
    return response
