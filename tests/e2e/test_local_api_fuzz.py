"""Random bad requests over real sockets to the running local stack: whatever comes, an answer comes back.

Bounded (`max_examples`), so the suite stays quick; hypothesis keeps what failed in `.hypothesis/` and tries
it first next time.
"""

import json
import re
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import load_event, without_random_tokens
from tests.e2e.local_stack import HttpResult, RunningStack, http, raw_http

# What API Gateway or PurchaseFunction can answer; never a 500 (a function crashed, or the local API did).
ANSWERABLE = {
    200,  # GET /gigs or /gigs/{id}: a route was hit after all
    202,  # a valid order
    204,  # a CORS preflight
    400,  # malformed HTTP (request line, Content-Length, body cut short), JSON or base64
    404,  # no route (HTTP API answers a route's wrong method with 404, not 405), or no such gig
    409,  # a sold-out gig, or the same Idempotency-Key while the first request is in flight
    411,  # a Transfer-Encoding (chunked) body: the local API reads bodies by their Content-Length
    413,  # a body over HTTP API's 10 MB, or over the function's 16 KiB
    414,  # a request line over 64 KiB
    422,  # fields that are invalid, or an Idempotency-Key reused with another order
    431,  # more than 100 headers, or one over 64 KiB
    501,  # a method HTTP API has no routes for ("get", "FOO")
    503,  # the queue or the table could not be reached (nothing was sold)
    505,  # a request line for HTTP/2 or later
}


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,  # a request's time is the function's, and not what is tested
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


VALID_ORDER: dict[str, Any] = json.loads(load_event("purchase-valid.json")["body"])
_TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"

# --- Requests -----------------------------------------------------------------------------------------

# Text with lone surrogates too: JSON escapes them ("\ud800"); UTF-8 cannot hold them. (Not st.text(),
# which leaves surrogates out whatever its alphabet.) Name-like text as well, which gets past validation.
_SURROGATES = st.characters(categories=["Cs"])
texts = st.one_of(
    st.lists(st.characters() | _SURROGATES, max_size=30).map("".join),
    st.lists(st.characters(categories=["L", "N", "P", "Zs"]) | _SURROGATES, min_size=1, max_size=30).map("".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)


def _luhn_check(digits: str) -> str:
    """The digit that makes `digits` + it a valid card number (Luhn), so that some orders go through."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str(-total % 10)


# Card data as buyers could type it. The numbers are long enough to be told apart from anything an answer
# says by chance; the CVCs start with a 9, as no year or limit in an error message does.
valid_card_numbers = st.from_regex(r"[0-9]{11,18}", fullmatch=True).map(lambda digits: digits + _luhn_check(digits))
card_numbers = st.from_regex(r"[0-9]{12,19}", fullmatch=True) | valid_card_numbers
card_cvcs = st.from_regex(r"9[0-9]{2,3}", fullmatch=True)
_CARD_DATA = re.compile(r"[0-9]{12,19}|9[0-9]{2,3}")
_DROPPED = object()


@st.composite
def orders(draw: st.DrawFn, max_changes: int = 3, numbers: st.SearchStrategy[str] = card_numbers) -> dict[str, Any]:
    """The valid order with card data of its own, up to `max_changes` fields dropped or replaced, extra fields."""
    order = {**VALID_ORDER, "cardNumber": draw(numbers), "cardCVC": draw(card_cvcs)}
    for name in draw(st.sets(st.sampled_from(sorted(VALID_ORDER)), max_size=max_changes)):
        replacement = draw(st.one_of(st.just(_DROPPED), texts, json_values))
        if replacement is _DROPPED:
            del order[name]
        else:
            order[name] = replacement
    order.update(draw(st.dictionaries(texts, json_values, max_size=2)))
    return order


# One field off at most: what gets past validation, to whatever comes after it.
nearly_valid_orders = orders(max_changes=1, numbers=valid_card_numbers)
bodies = st.one_of(
    nearly_valid_orders.map(lambda order: json.dumps(order).encode()),
    # Lone surrogates raw: not UTF-8, so the function gets the body base64-encoded.
    nearly_valid_orders.map(lambda order: json.dumps(order, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    orders().map(lambda order: json.dumps(order).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),
    # Nested deeper than a recursive parser goes (every order of magnitude, up to the function's 16 KiB).
    (st.integers(1, 16 * 1024) | st.integers(1, 14).map(lambda power: 2**power)).map(lambda depth: b"[" * depth),
    st.integers(16 * 1024 - 2, 16 * 1024 + 2).map(lambda size: b"{" + b" " * (size - 2) + b"}"),  # the 16 KiB limit
)
methods = st.one_of(
    st.sampled_from([b"POST", b"GET", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"post", b"get", b"FOO", b"TRACE"]),
    st.text(_TOKEN, min_size=1, max_size=10).map(str.encode),
    st.binary(max_size=10),  # anything, even nothing or a line break
)
paths = st.one_of(
    st.sampled_from(
        [
            *(b"/purchase", b"/purchase/", b"/PURCHASE", b"//purchase", b"/purchase?a=1&a=2", b"/gigs", b"/gigs/x%2Fy"),
            *(b"/gigs/queen-wembley-1986", b"/", b"*", b"http://localhost/purchase", b"/%", b"/%zz", b"/%00", b"/%ff"),
        ]
    ),
    st.binary(max_size=100).map(lambda path: b"/" + path),  # anything, even spaces and line breaks
    st.sampled_from([60_000, 65_600]).map(lambda length: b"/" + b"a" * length),  # within and over 64 KiB
)
header_names = st.one_of(
    st.sampled_from(
        [
            *(b"Content-Type", b"Origin", b"Access-Control-Request-Method", b"Cookie", b"Host", b"Transfer-Encoding"),
            *(b"Content-Length", b"Expect", b"Connection", b"X-Forwarded-For", b"Idempotency-Key"),
        ]
    ),
    st.text(_TOKEN, min_size=1, max_size=20).map(str.encode),
    st.binary(max_size=20),
)
header_values = st.one_of(
    st.sampled_from(
        [
            *(b"application/json", b"text/plain", b"application/octet-stream", b"http://localhost:8080"),
            *(b"https://evil.example", b"POST", b"chunked", b"100-continue", b"close", b"keep-alive", b""),
        ]
    ),
    st.binary(max_size=100),
)
headers = st.one_of(
    st.lists(st.tuples(header_names, header_values), max_size=8),
    st.integers(95, 105).map(lambda count: [(b"X-Header-%d" % number, b"v") for number in range(count)]),
    st.sampled_from([60_000, 65_526, 65_527, 70_000]).map(lambda length: [(b"Cookie", b"a" * length)]),
)
content_lengths = st.one_of(
    st.none(),  # the body's own length
    st.just(b"omitted"),
    st.sampled_from([b"\xb2", b"\xb9", b"-1", b"+1", b"1e3", b"0x10", b"", b" ", b"1, 1", b"9" * 5000]),
    st.integers(0, 2**64).map(lambda length: str(length).encode()),
)
versions = st.one_of(
    st.sampled_from([b" HTTP/1.1", b" HTTP/1.0", b" HTTP/2.0", b" HTTP/0.9", b" HTTX/1.1", b" HTTP/1", b""]),
    st.binary(max_size=12),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    body: bytes = draw(bodies)
    request: bytes = draw(methods) + b" " + draw(paths) + draw(versions) + b"\r\n"
    for name, value in draw(headers):
        request += name + b": " + value + b"\r\n"
    match draw(content_lengths):
        case None:
            request += b"Content-Length: %d\r\n" % len(body)
        case b"omitted":
            pass
        case length:
            request += b"Content-Length: " + length + b"\r\n"
    return request + b"\r\n" + body


# --- Answers ------------------------------------------------------------------------------------------


def _assert_answerable(response: HttpResult, stack: RunningStack) -> None:
    # The console's line says why (the function's error, or the local API's).
    assert response.status in ANSWERABLE, (response.status, response.body[:300], stack.output.lines_with("-> 5")[-1:])
    if response.status >= 400:
        assert response.headers["content-type"] == "application/json", response.headers
        answer = json.loads(response.body)
        assert isinstance(answer, dict), answer
        assert isinstance(answer.get("message"), str), answer


@_settings(max_examples=150)
@given(request=raw_requests())
def test_any_request_gets_a_status_line_and_an_answer_api_gateway_or_the_function_could_give(
    local_stack: RunningStack, request: bytes
) -> None:
    # When (raw_http fails on a dropped connection or an answer without a status line)
    response = raw_http(local_stack.api_url, request)

    # Then
    if request.startswith(b"HEAD "):
        assert response.body == b""
    else:
        _assert_answerable(response, local_stack)


@_settings(max_examples=200)
@given(body=bodies)
def test_any_body_posted_to_purchase_gets_an_answer_api_gateway_or_the_function_could_give(
    local_stack: RunningStack, body: bytes
) -> None:
    # When
    response = http("POST", f"{local_stack.api_url}/purchase", body, {"content-type": "application/json"})

    # Then
    _assert_answerable(response, local_stack)


@_settings(max_examples=150)
@given(order=orders())
def test_no_answer_to_an_order_tells_its_card_number_or_cvc_back(
    local_stack: RunningStack, order: dict[str, Any]
) -> None:
    # Given the card data in the order (as `card_numbers` and `card_cvcs` make it), whatever else it holds
    card_data = (order.get("cardNumber"), order.get("cardCVC"))
    secrets = [value for value in card_data if isinstance(value, str) and _CARD_DATA.fullmatch(value)]

    # When it is posted
    response = http(
        "POST", f"{local_stack.api_url}/purchase", json.dumps(order).encode(), {"content-type": "application/json"}
    )

    # Then (a run of digits of its own: "986" is in "queen-wembley-1986", which no one typed)
    answer = without_random_tokens(response.body.decode())
    for secret in secrets:
        assert not re.search(rf"(?<![0-9]){secret}(?![0-9])", answer), answer
