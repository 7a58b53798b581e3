"""GET /tickets/{ticketId} through the tickets handler, against the ledger in moto."""

import json
from typing import Any
from uuid import UUID

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from purchase.app import lambda_handler as purchase_handler
from tests.conftest import REGION, load_event, purchase_event
from tests.integration.test_flow import deliver
from tickets.adapters import TicketLedger
from tickets.app import lambda_handler
from tickets.settings import Settings
from tools.provision import LocalResources


def get_ticket(ticket_id: str, context: LambdaContext) -> dict[str, Any]:
    event = load_event("ticket-get.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/tickets/{ticket_id}"
    event["pathParameters"] = {"ticketId": ticket_id}
    response: dict[str, Any] = lambda_handler(event, context)
    return response


def buy(context: LambdaContext) -> str:
    event = purchase_event(name="Grace Hopper", email="grace.hopper@example.com")
    ticket_id: str = json.loads(purchase_handler(event, context)["body"])["ticketId"]
    return ticket_id


def test_a_ticket_just_bought_is_reserved_and_shows_only_its_public_fields(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    ticket_id = buy(lambda_context)

    response = get_ticket(ticket_id, lambda_context)

    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    ticket = json.loads(response["body"])
    assert set(ticket) == {"ticketId", "gigId", "status", "createdAt", "email"}
    assert (ticket["ticketId"], ticket["gigId"], ticket["status"], ticket["email"]) == (
        ticket_id,
        "queen-wembley-1986",
        "RESERVED",
        "g***@example.com",
    )
    assert "Grace" not in response["body"]
    assert "grace.hopper" not in response["body"]


def test_the_lookup_reads_the_ledger_as_last_written(resources: LocalResources, lambda_context: LambdaContext) -> None:
    # DynamoDB's default read may miss a write of the last second: a ticket just bought would be a 404.
    client = boto3.client("dynamodb", region_name=REGION)
    reads: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.dynamodb.GetItem", lambda params, **_: reads.append(params))
    ledger = TicketLedger(Settings.from_env().tickets_table_name, client=client)
    ticket_id = buy(lambda_context)

    assert ledger.find(UUID(ticket_id)) is not None
    assert [read.get("ConsistentRead") for read in reads] == [True]


def test_once_the_email_is_sent_the_ticket_shows_confirmed(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    ticket_id = buy(lambda_context)

    deliver(resources, lambda_context)

    assert json.loads(get_ticket(ticket_id, lambda_context)["body"])["status"] == "CONFIRMED"


def test_an_unknown_ticket_is_a_404(resources: LocalResources, lambda_context: LambdaContext) -> None:
    response = get_ticket("0b8f4d0e-6f0c-4d59-9a43-0a0c3f7f2c1e", lambda_context)

    assert (response["statusCode"], json.loads(response["body"])) == (404, {"message": "No ticket with this id"})


@pytest.mark.parametrize(
    "ticket_id",
    [
        "not-a-ticket",
        "0B8F4D0E-6F0C-4D59-9A43-0A0C3F7F2C1E",  # not the canonical form
        "0b8f4d0e-6f0c-1d59-9a43-0a0c3f7f2c1e",  # a UUID1
        "idempotency-key-" + "0" * 64,  # the shape of the ledger's other items
        "x" * 5000,
    ],
)
def test_an_id_that_is_not_a_ticket_id_is_a_400_naming_the_field(
    ticket_id: str, resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = get_ticket(ticket_id, lambda_context)

    assert response["statusCode"] == 400
    assert [error["field"] for error in json.loads(response["body"])["errors"]] == ["ticketId"]


def test_when_the_ledger_is_unreachable_the_answer_is_a_503(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=resources.refs["TicketsTable"])

    response = get_ticket("0b8f4d0e-6f0c-4d59-9a43-0a0c3f7f2c1e", lambda_context)

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"


def test_a_misconfigured_deploy_fails_its_first_invocation_naming_the_variable(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKETS_TABLE_NAME")

    with pytest.raises(ValueError, match="TICKETS_TABLE_NAME"):
        get_ticket("0b8f4d0e-6f0c-4d59-9a43-0a0c3f7f2c1e", lambda_context)
