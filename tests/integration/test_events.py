"""Every sample event in events/, replayed through its handler as `sam local invoke -e` would.

The environment is the template's, resolved against moto; a new file in events/ without an
expectation here fails the suite, so `sam local invoke -e events/<any>.json` is always known to behave.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from gigs.app import lambda_handler as gigs_handler
from purchase.app import lambda_handler as purchase_handler
from tests.conftest import EVENTS, TEMPLATE, load_event, receive_all, sent_emails
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


def lists_the_catalogue(response: Any, _: LocalResources) -> None:
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["gigs"]) >= 12


def returns_the_gig(response: Any, _: LocalResources) -> None:
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["id"] == "queen-wembley-1986"


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

    response = handler(load_event(name), lambda_context)

    check(response, resources)
    assert TEMPLATE.functions[function].handler == f"{handler.__module__}.{handler.__name__}"


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
