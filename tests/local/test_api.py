"""The local HTTP API's rules, without a socket: routes, the events it builds, responses and CORS."""

import base64
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import load_event
from tools.local.api import (
    Cors,
    HttpRequest,
    HttpResponse,
    MalformedResponse,
    Router,
    build_event,
    content_length,
    http_response,
)
from tools.provision import LocalResources
from tools.sam_template import HttpRoute, SamTemplate


def _request_behind(sample: dict[str, Any]) -> HttpRequest:
    """The request API Gateway received when it built `sample`."""
    query = f"?{sample['rawQueryString']}" if sample["rawQueryString"] else ""
    return HttpRequest(
        method=sample["requestContext"]["http"]["method"],
        target=sample["rawPath"] + query,
        headers=list(sample["headers"].items()),
        body=sample.get("body", "").encode(),
        source_ip=sample["requestContext"]["http"]["sourceIp"],
        protocol=sample["requestContext"]["http"]["protocol"],
    )


def _shape(value: Any, maps: frozenset[str] = frozenset({"headers"})) -> Any:
    """Keys and value types, recursively: what a handler relies on, rather than what varies per request."""
    if isinstance(value, dict):
        return {key: "map" if key in maps else _shape(item, maps) for key, item in value.items()}
    return type(value).__name__


# --- Routes -------------------------------------------------------------------------------------------


def test_a_path_with_a_variable_matches_its_route_and_names_the_parameter(template: SamTemplate) -> None:
    # When
    match = Router(template.http_routes()).match("GET", "/gigs/queen-wembley-1986")

    # Then
    assert match is not None
    assert match.route_key == "GET /gigs/{id}"
    assert match.route.function == "GigsFunction"
    assert match.path_parameters == {"id": "queen-wembley-1986"}


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/gigs"), ("GET", "/gigs/a/b"), ("GET", "/gigs/"), ("GET", "/")]
)
def test_a_request_no_route_declares_matches_nothing(template: SamTemplate, method: str, path: str) -> None:
    assert Router(template.http_routes()).match(method, path) is None


def test_the_most_specific_route_wins_and_a_greedy_variable_takes_the_rest_of_the_path() -> None:
    # Given
    router = Router(
        [
            HttpRoute("Greedy", "ANY", "/files/{proxy+}"),
            HttpRoute("Variable", "GET", "/files/{name}"),
            HttpRoute("Literal", "GET", "/files/readme"),
        ]
    )

    # When / Then
    assert router.match("GET", "/files/readme").route.function == "Literal"  # type: ignore[union-attr]
    assert router.match("GET", "/files/notes").route.function == "Variable"  # type: ignore[union-attr]
    deep = router.match("POST", "/files/a/b%20c")
    assert deep is not None
    assert (deep.route.function, deep.path_parameters) == ("Greedy", {"proxy": "a/b c"})


# --- Events -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample_name", ["gigs-list.json", "gig-get.json", "purchase-valid.json", "purchase-malformed-json.json"]
)
def test_the_event_for_a_request_has_the_shape_of_the_sample_events(template: SamTemplate, sample_name: str) -> None:
    # Given the request behind a sample event
    sample = load_event(sample_name)
    request = _request_behind(sample)
    match = Router(template.http_routes()).match(request.method, request.raw_path)
    assert match is not None

    # When the local API builds its event
    event = build_event(request, match, received_at=datetime(2026, 11, 23, 18, tzinfo=UTC))

    # Then it has the sample's fields, and the same values where they do not vary per request
    assert _shape(event) == _shape(sample)
    for field in ("version", "routeKey", "rawPath", "rawQueryString", "pathParameters", "body", "isBase64Encoded"):
        assert event.get(field) == sample.get(field), field
    assert event["headers"].items() >= sample["headers"].items()
    assert event["requestContext"]["http"] == sample["requestContext"]["http"]
    for field in ("accountId", "routeKey", "stage", "time", "timeEpoch"):
        assert event["requestContext"][field] == sample["requestContext"][field], field


def test_query_strings_cookies_and_repeated_headers_are_joined_as_payload_format_2_does(template: SamTemplate) -> None:
    # Given
    request = HttpRequest(
        "GET",
        "/gigs?city=London&city=Leeds&soon=",
        [("Cookie", "session=1; theme=dark"), ("X-Trace", "a"), ("x-trace", "b"), ("Host", "127.0.0.1:3000")],
    )
    match = Router(template.http_routes()).match("GET", "/gigs")
    assert match is not None

    # When
    event = build_event(request, match)

    # Then
    assert event["rawQueryString"] == "city=London&city=Leeds&soon="
    assert event["queryStringParameters"] == {"city": "London,Leeds", "soon": ""}
    assert event["cookies"] == ["session=1", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-trace"] == "a,b"
    assert event["requestContext"]["domainName"] == "127.0.0.1"


def test_a_binary_body_reaches_the_function_base64_encoded(template: SamTemplate) -> None:
    # Given
    body = bytes(range(256))
    request = HttpRequest("POST", "/purchase", [("Content-Type", "application/octet-stream")], body)
    match = Router(template.http_routes()).match("POST", "/purchase")
    assert match is not None

    # When
    event = build_event(request, match)

    # Then
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


# --- Responses ----------------------------------------------------------------------------------------


def test_a_response_without_a_status_code_is_a_200_with_that_json_as_its_body() -> None:
    assert http_response({"gigs": []}) == HttpResponse(200, [("Content-Type", "application/json")], b'{"gigs": []}')


def test_cookies_become_set_cookie_headers_and_a_base64_body_is_decoded() -> None:
    # When
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "cookies": ["a=1; Secure", "b=2"],
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )

    # Then
    assert response.status == 201
    assert response.headers == [("Content-Type", "image/png"), ("Set-Cookie", "a=1; Secure"), ("Set-Cookie", "b=2")]
    assert response.body == b"\x89PNG"


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "200"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": []},
        {"statusCode": 200, "body": "lone \ud800 surrogate"},
        {"statusCode": 200, "headers": {"X-Name": "Ada\r\nSet-Cookie: session=stolen"}},
        {"statusCode": 200, "headers": {"X Name": "Ada"}},
        {"statusCode": 200, "cookies": ["a=1\r\n\r\n<html>"]},
    ],
)
def test_a_response_api_gateway_would_answer_with_a_500_is_malformed(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        http_response(payload)


# --- CORS ---------------------------------------------------------------------------------------------


def test_the_allowed_origins_are_the_templates_except_the_cloudfront_domain(
    template: SamTemplate, resources: LocalResources
) -> None:
    # When
    cors = Cors.from_template(template.http_api_cors(), resources)

    # Then the AllowedOrigins parameter's origins are there; CloudFront's, which exists only on AWS, is not
    assert cors.allow_origins == set(template.parameters()["AllowedOrigins"].split(","))
    assert cors.allow_methods == tuple(template.http_api_cors()["AllowMethods"])


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:8080", True),
        ("http://localhost:51234", True),
        ("http://127.0.0.1:3001", True),
        ("https://localhost:8080", False),
        ("http://localhost.evil.example", False),
        ("https://evil.example", False),
    ],
)
def test_any_local_origin_is_allowed_and_other_sites_are_not(
    template: SamTemplate, resources: LocalResources, origin: str, allowed: bool
) -> None:
    cors = Cors.from_template(template.http_api_cors(), resources)

    assert cors.allows(origin) is allowed
    assert (cors.preflight(origin).header("Access-Control-Allow-Origin") == origin) is allowed


def test_the_functions_own_cors_headers_are_replaced_by_the_apis() -> None:
    # Given a function that sets CORS headers itself
    cors = Cors(frozenset({"http://localhost:8080"}), expose_headers=("x-ticket",))
    response = HttpResponse(200, [("Access-Control-Allow-Origin", "*"), ("Content-Type", "application/json")])

    # When the API applies its own configuration
    applied = cors.apply(response, "http://localhost:8080")

    # Then only the API's count
    assert applied.headers == [
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", "http://localhost:8080"),
        ("Vary", "Origin"),
        ("Access-Control-Expose-Headers", "x-ticket"),
    ]


# --- Request bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "length"),
    [
        ([], 0),
        (["0"], 0),
        (["42"], 42),
        ([" 42 "], 42),
        (["0042"], 42),
        (["42", "42"], 42),
        (["9" * 5000], sys.maxsize),
    ],
)
def test_a_content_length_of_ascii_digits_is_the_bodys_length(values: list[str], length: int) -> None:
    assert content_length(values) == length


@pytest.mark.parametrize(
    "values", [["²"], ["¹²"], ["-1"], ["+1"], ["1e3"], ["0x10"], ["1.0"], [""], ["1, 1"], ["1", "2"]]
)
def test_a_content_length_that_is_not_one_run_of_ascii_digits_gives_no_length(values: list[str]) -> None:
    assert content_length(values) is None
