"""Every sample event in events/, replayed through its handler as `sam local invoke -e` would.

The environment is the template's, resolved against moto; a new file in events/ without an
expectation here fails the suite, so `sam local invoke -e events/<any>.json` is always known to behave.
"""

import json
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from gigs.app import lambda_handler as gigs_handler
from purchase.app import lambda_handler as purchase_handler
from purchase.reconciler import lambda_handler as reconciler_handler
from tests.conftest import (
    EVENTS,
    REGION,
    TEMPLATE,
    FakeLambdaContext,
    load_event,
    receive_all,
    sent_emails,
    ticket_item,
)
from tickets.app import lambda_handler as tickets_handler
from tools.catalogue import record_sample_tickets, sample_tickets
from tools.provision import LocalResources
from worker.app import lambda_handler as worker_handler

Handler = Callable[[dict[str, Any], Any], Any]


def expect_status(status: int) -> Callable[[Any, LocalResources], None]:
    def check(response: Any, _: LocalResources) -> None:
        assert response["statusCode"] == status, response

    return check


def accepted_and_queued(response: Any, resources: LocalResources) -> None:
    assert response["statusCode"] == 202
    (message,) = receive_all(resources.refs["PurchaseQueue"])
    assert json.loads(message["Body"])["ticketId"] == json.loads(response["body"])["ticketId"]


def invalid_fields_named(response: Any, _: LocalResources) -> None:
    assert response["statusCode"] == 422
    named = {error["field"] for error in json.loads(response["body"])["errors"]}
    assert named == {"name", "email", "nameOnCard", "cardNumber", "cardExpiryMonth", "cardCVC", "disclaimerAccepted"}


def accepted_once_for_its_key(response: Any, resources: LocalResources) -> None:
    accepted_and_queued(response, resources)
    again = purchase_handler(load_event("purchase-idempotent.json"), cast(LambdaContext, FakeLambdaContext()))
    assert json.loads(again["body"])["ticketId"] == json.loads(response["body"])["ticketId"]


def lists_the_catalogue(response: Any, _: LocalResources) -> None:
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])) >= 12


def returns_the_gig(response: Any, _: LocalResources) -> None:
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["id"] == "queen-wembley-1986"


def shows_the_ticket_masked(response: Any, _: LocalResources) -> None:
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "ticketId": "5b1e0000-0000-4000-8000-000000000001",
        "gigId": "queen-wembley-1986",
        "status": "RESERVED",
        "createdAt": "2026-11-23T18:01:00Z",
        "email": "a***@example.com",
    }


def requeues_the_sample_tickets(response: Any, resources: LocalResources) -> None:
    assert response == {"requeued": 3, "settled": 0, "orphaned": 0, "failed": 0}
    queued = {json.loads(message["Body"])["ticketId"] for message in receive_all(resources.refs["PurchaseQueue"])}
    assert queued == {ticket["id"] for ticket in sample_tickets()}


def emails_all_three(response: Any, _: LocalResources) -> None:
    assert response == {"batchItemFailures": []}
    assert sorted(email.destinations["ToAddresses"][0] for email in sent_emails()) == [
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
    ]


def reports_only_the_poison_record(response: Any, _: LocalResources) -> None:
    assert response == {"batchItemFailures": [{"itemIdentifier": "a0000000-0000-4000-8000-000000000002"}]}
    assert len(sent_emails()) == 2


EXPECTED: dict[str, tuple[str, Handler, Callable[[Any, LocalResources], None]]] = {
    "purchase-valid.json": ("PurchaseFunction", purchase_handler, accepted_and_queued),
    "purchase-malformed-json.json": ("PurchaseFunction", purchase_handler, expect_status(400)),
    "purchase-invalid-fields.json": ("PurchaseFunction", purchase_handler, invalid_fields_named),
    "purchase-unknown-gig.json": ("PurchaseFunction", purchase_handler, expect_status(404)),
    "purchase-idempotent.json": ("PurchaseFunction", purchase_handler, accepted_once_for_its_key),
    "ticket-get.json": ("TicketsFunction", tickets_handler, shows_the_ticket_masked),
    "ticket-unknown.json": ("TicketsFunction", tickets_handler, expect_status(404)),
    "reconcile-scheduled.json": ("ReconcilerFunction", reconciler_handler, requeues_the_sample_tickets),
    "gigs-list.json": ("GigsFunction", gigs_handler, lists_the_catalogue),
    "gig-get.json": ("GigsFunction", gigs_handler, returns_the_gig),
    "gig-unknown.json": ("GigsFunction", gigs_handler, expect_status(404)),
    "worker-batch.json": ("WorkerFunction", worker_handler, emails_all_three),
    "worker-batch-poison.json": ("WorkerFunction", worker_handler, reports_only_the_poison_record),
}


@pytest.mark.parametrize("name", sorted(path.name for path in EVENTS.glob("*.json") if path.name != "env.json"))
def test_sample_event_behaves_as_expected(name: str, resources: LocalResources, lambda_context: LambdaContext) -> None:
    assert name in EXPECTED, f"events/{name} has no expectation in {__name__}"
    function, handler, check = EXPECTED[name]
    # As `make invoke` does: the tickets the sample worker events confirm are in the ledger.
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    record_sample_tickets(dynamodb.Table(resources.refs["TicketsTable"]), dynamodb.Table(resources.refs["GigsTable"]))

    response = handler(load_event(name), lambda_context)

    check(response, resources)
    assert TEMPLATE.functions[function].handler == f"{handler.__module__}.{handler.__name__}"


def test_the_sample_tickets_are_recorded_as_the_purchase_records_tickets(resources: LocalResources) -> None:
    from purchase.adapters import TicketLedger
    from purchase.settings import LedgerSettings

    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    record_sample_tickets(dynamodb.Table(resources.refs["TicketsTable"]), dynamodb.Table(resources.refs["GigsTable"]))

    for ticket in sample_tickets():
        entry = TicketLedger(LedgerSettings.from_env()).find(UUID(ticket["id"]))
        assert entry is not None
        assert (entry.status, entry.ticket.buyer.email) == ("RESERVED", ticket["buyerEmail"])
        assert ticket_item(ticket["id"])["maskedEmail"].endswith("***@example.com")


def test_http_sample_events_name_a_route_the_template_declares() -> None:
    routes = {f"{route.method} {route.path}" for route in TEMPLATE.http_routes()}

    for name, (function, _, _) in EXPECTED.items():
        event = load_event(name)
        if "routeKey" in event:
            assert event["routeKey"] in routes, name
            assert function == next(
                r.function for r in TEMPLATE.http_routes() if f"{r.method} {r.path}" == event["routeKey"]
            )


def test_env_json_sets_every_variable_the_template_declares_and_no_other() -> None:
    # `sam local invoke --env-vars` ignores variables the template does not declare.
    env = json.loads((EVENTS / "env.json").read_text())

    assert set(env) == set(TEMPLATE.functions)
    for name, function in TEMPLATE.functions.items():
        assert set(env[name]) == set(function.environment), name
