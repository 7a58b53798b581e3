"""POST /purchase through the purchase handler, against the template's queue and table in moto."""

import base64
import json
from io import StringIO
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyInconsistentStateError
from aws_lambda_powertools.utilities.typing import LambdaContext

from purchase.adapters import SqsTicketQueue
from purchase.app import lambda_handler
from purchase.orders import ServiceUnavailable
from tests.conftest import REGION, VALID, load_event, purchase_event, receive_all, ticket_item, without_random_tokens
from tools.provision import LocalResources


def purchase(
    context: LambdaContext, body: Any = None, *, raw: str | None = None, base64_encoded: bool = False
) -> dict[str, Any]:
    event = purchase_event(**(body or {}))
    text = raw if raw is not None else event["body"]
    if base64_encoded:
        text = base64.b64encode(text.encode()).decode()
    event.update(body=text, isBase64Encoded=base64_encoded)
    response: dict[str, Any] = lambda_handler(event, context)
    return response


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def queued(resources: LocalResources) -> list[dict[str, Any]]:
    return [json.loads(message["Body"]) for message in receive_all(resources.refs["PurchaseQueue"])]


def test_an_order_is_queued_and_answered_202_with_its_ticket_id(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context)

    assert response["statusCode"] == 202
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"  # an answer for this buyer only
    ticket_id = body_of(response)["ticketId"]
    (message,) = queued(resources)
    assert message["ticketId"] == ticket_id
    assert message["buyer"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert message["gig"]["bandName"] == "Queen"
    assert set(body_of(response)) == {"ticketId", "message"}


def test_a_base64_encoded_body_is_read(resources: LocalResources, lambda_context: LambdaContext) -> None:
    assert purchase(lambda_context, base64_encoded=True)["statusCode"] == 202


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"gigId": ', "The request body is not valid JSON"),
        ("", "The request body is not valid JSON"),
        ("[1, 2]", "The request body must be a JSON object"),
        ('"an order"', "The request body must be a JSON object"),
        ("null", "The request body must be a JSON object"),
    ],
    ids=["truncated", "empty", "array", "string", "null"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(
    raw: str, message: str, resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context, raw=raw)

    assert (response["statusCode"], body_of(response)) == (400, {"message": message})
    assert queued(resources) == []


def test_a_body_that_is_not_utf8_is_a_400(resources: LocalResources, lambda_context: LambdaContext) -> None:
    event = load_event("purchase-valid.json")
    event.update(
        body=base64.b64encode(b'{"name": "\xff"}').decode(), isBase64Encoded=True
    )  # how API Gateway sends non-text

    response = lambda_handler(event, lambda_context)

    assert (response["statusCode"], body_of(response)) == (400, {"message": "The request body is not valid JSON"})


def test_a_body_nested_too_deeply_is_a_400_not_a_crash(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context, raw="[" * 10_000)

    assert (response["statusCode"], body_of(response)) == (400, {"message": "The request body is nested too deeply"})


@pytest.mark.parametrize("field", ["cardExpiryYear", "cardExpiryMonth", "name", "gigId"])
@pytest.mark.parametrize("sign", ["", "-"])
def test_a_number_too_long_for_python_s_int_is_a_422_naming_its_field(
    field: str, sign: str, resources: LocalResources, lambda_context: LambdaContext
) -> None:
    # Valid JSON, under the size limit; Python refuses to read more than 4300 digits into an int.
    order = json.dumps({**VALID, field: 0}).replace(f'"{field}": 0', f'"{field}": {sign}1{"0" * 5000}')

    response = purchase(lambda_context, raw=order)

    assert response["statusCode"] == 422
    assert [error["field"] for error in body_of(response)["errors"]] == [field]
    assert queued(resources) == []


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [
        ('{"name": "Ada\\ud800"}', False),  # a JSON escape
        (b'{"name": "Ada\xed\xa0\x80"}', True),  # the raw bytes, as API Gateway passes what is not UTF-8
        ('{"name": "Ada\ud800"}', False),  # already in the event's text
    ],
    ids=["escape", "raw-bytes", "in-event"],
)
def test_a_lone_surrogate_in_a_name_is_a_422_naming_the_field(
    body: str | bytes, base64_encoded: bool, resources: LocalResources, lambda_context: LambdaContext
) -> None:
    order = json.dumps({key: value for key, value in VALID.items() if key != "name"})[1:]
    text = (body[:-1] + b", " + order.encode()) if isinstance(body, bytes) else body[:-1] + ", " + order
    event = load_event("purchase-valid.json")
    event.update(
        body=base64.b64encode(text).decode() if isinstance(text, bytes) else text, isBase64Encoded=base64_encoded
    )

    response = lambda_handler(event, lambda_context)

    assert response["statusCode"] == 422
    assert [error["field"] for error in body_of(response)["errors"]] == ["name"]
    assert queued(resources) == []


def test_invalid_base64_is_a_400(resources: LocalResources, lambda_context: LambdaContext) -> None:
    event = load_event("purchase-valid.json")
    event.update(body="not base64!", isBase64Encoded=True)

    response = lambda_handler(event, lambda_context)

    assert (response["statusCode"], body_of(response)["message"]) == (400, "The request body is not valid base64")


def test_a_body_over_16_kib_is_a_413_and_queues_nothing(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context, {"name": "x" * 16_500})

    assert (response["statusCode"], body_of(response)) == (413, {"message": "The request body must be at most 16 KiB"})
    assert queued(resources) == []


def test_invalid_fields_are_a_422_naming_each_field_and_queue_nothing(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context, {"email": "nope", "cardCVC": "1", "disclaimerAccepted": False})

    assert response["statusCode"] == 422
    assert body_of(response)["message"] == "Some fields are invalid"
    assert {error["field"]: error["message"] for error in body_of(response)["errors"]} == {
        "email": "Not a valid email address: An email address must have an @-sign.",
        "cardCVC": "Must be 3 or 4 digits",
        "disclaimerAccepted": "Must be accepted",
    }
    assert queued(resources) == []


def test_an_unknown_gig_is_a_404_naming_the_gig_id(resources: LocalResources, lambda_context: LambdaContext) -> None:
    response = purchase(lambda_context, {"gigId": "the-beatles-shea-stadium-1965"})

    assert response["statusCode"] == 404
    assert body_of(response)["errors"] == [{"field": "gigId", "message": "No gig with this id"}]
    assert queued(resources) == []


def test_a_gig_with_numbers_where_text_belongs_is_sold_as_get_gigs_shows_it(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    gigs = boto3.resource("dynamodb", region_name=REGION).Table(resources.refs["GigsTable"])
    gigs.update_item(
        Key={"id": VALID["gigId"]},
        UpdateExpression="SET price = :price, bandName = :band",
        ExpressionAttributeValues={":price": 1156, ":band": 311},
    )

    response = purchase(lambda_context)

    assert response["statusCode"] == 202
    # str(), as the gigs function reads them
    assert ticket_item(body_of(response)["ticketId"])["price"] == "1156"
    (message,) = queued(resources)
    assert message["gig"]["bandName"] == "311"


@pytest.mark.parametrize(
    "broken", [{"date": "TBC"}, {"capacity": "ten"}, {"price": None}], ids=["date", "capacity", "no price"]
)
def test_a_malformed_catalogue_item_is_no_gig_on_sale_and_is_logged(
    resources: LocalResources, lambda_context: LambdaContext, logs: StringIO, broken: dict[str, Any]
) -> None:
    gigs = boto3.resource("dynamodb", region_name=REGION).Table(resources.refs["GigsTable"])
    item = {**gigs.get_item(Key={"id": VALID["gigId"]})["Item"], **broken}
    gigs.put_item(Item={key: value for key, value in item.items() if value is not None})
    seats_sold = item.get("sold", 0)

    response = purchase(lambda_context)

    assert response["statusCode"] == 404
    assert body_of(response)["errors"] == [{"field": "gigId", "message": "No gig with this id"}]
    assert queued(resources) == []
    assert gigs.get_item(Key={"id": VALID["gigId"]})["Item"].get("sold", 0) == seats_sold
    (line,) = [line for line in logs.getvalue().splitlines() if "its catalogue item is malformed" in line]
    assert json.loads(line)["gigId"] == VALID["gigId"]


def test_when_powertools_finds_its_record_in_an_inconsistent_state_the_buyer_gets_a_503(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its record expired between DynamoDB's condition and Powertools' read, on every one of its own retries.
    def inconsistent(self: IdempotencyHandler, *_: Any) -> Any:
        raise IdempotencyInconsistentStateError("the record changed state")

    monkeypatch.setattr(IdempotencyHandler, "_process_idempotency", inconsistent)
    event = load_event("purchase-idempotent.json")

    response = lambda_handler(event, lambda_context)

    assert (response["statusCode"], response["headers"]["Retry-After"]) == (503, "5")
    assert queued(resources) == []


def test_when_the_catalogue_is_down_the_buyer_gets_a_503(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=resources.refs["GigsTable"])

    response = purchase(lambda_context)

    assert response["statusCode"] == 503
    assert queued(resources) == []


def test_a_misconfigured_deploy_fails_its_first_invocation_whatever_the_request(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUEUE_URL")

    with pytest.raises(ValueError, match="QUEUE_URL"):
        purchase(lambda_context, raw="not even json")


def test_a_route_this_function_does_not_serve_is_a_404(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    event = load_event("purchase-valid.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/refund"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /refund"

    response = lambda_handler(event, lambda_context)

    assert (response["statusCode"], body_of(response)) == (404, {"message": "Not Found"})


def test_a_card_number_typed_as_the_gig_id_never_reaches_a_log(
    resources: LocalResources, lambda_context: LambdaContext, logs: StringIO
) -> None:
    responses = [
        purchase(lambda_context, {"gigId": "4242424242424242"}),
        purchase(lambda_context, {"gigId": "4242-4242-4242-4242"}),
        purchase(lambda_context, {"gigId": "gig-4242424242424242"}),
        purchase(lambda_context, {"email": "ada@4242424242424242.example"}),
    ]

    assert [response["statusCode"] for response in responses] == [404, 404, 404, 202]
    assert "Order rejected: unknown gig" in logs.getvalue()
    assert "4242" not in logs.getvalue()


def test_card_data_appears_in_no_log_message_or_response(
    resources: LocalResources, lambda_context: LambdaContext, logs: StringIO
) -> None:
    failing_luhn = "4242424242424241"
    responses = [
        purchase(lambda_context, {"cardCVC": "987"}),
        purchase(lambda_context, {"cardNumber": failing_luhn, "cardCVC": "9876"}),
        purchase(lambda_context, {"cardNumber": "4000056655665556", "cardCVC": "321", "gigId": "no-such-gig"}),
    ]

    assert [response["statusCode"] for response in responses] == [202, 422, 404]
    assert "Ticket accepted" in logs.getvalue()
    everything = without_random_tokens(logs.getvalue() + json.dumps(queued(resources)) + json.dumps(responses))
    for secret in (VALID["cardNumber"], failing_luhn, "4000056655665556", "987", "9876", "321"):
        assert secret not in everything
    assert "ada@example.com" not in logs.getvalue()  # logged masked only
    assert "a***@example.com" in logs.getvalue()


def test_every_line_an_order_logs_names_the_api_request_as_the_access_log_does(
    resources: LocalResources, lambda_context: LambdaContext, logs: StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = load_event("purchase-valid.json")["requestContext"]["requestId"]

    def queue_down(self: SqsTicketQueue, message: Any) -> None:
        raise ServiceUnavailable("purchase queue unavailable")

    accepted = purchase(lambda_context)
    monkeypatch.setattr(SqsTicketQueue, "send", queue_down)
    not_taken = purchase(lambda_context)

    assert (accepted["statusCode"], not_taken["statusCode"]) == (202, 503)
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert {line["message"] for line in lines} >= {"Ticket accepted", "Order not taken"}
    assert {line.get("correlation_id") for line in lines} == {request_id}
