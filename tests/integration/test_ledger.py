"""The ticket ledger in moto: seats never oversold, a retried purchase never buys twice, every ticket settles.

Purchases go through the purchase handler (or, where many run at once, through `place_order` with the real
adapters: the handler's Powertools Logger and Metrics keep each request's keys and metrics in shared
objects, so one process runs one handler call at a time, as Lambda does). Emails are delivered by
`deliver`, Lambda's event source mapping played against the template's queue.
"""

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

from purchase import app as purchase_app
from purchase.adapters import CALL_SECONDS, CLIENT_CONFIG, GigCatalogue, SqsTicketQueue, TicketLedger
from purchase.models import Ticket, TicketMessage
from purchase.orders import Deadline, KeyClaim, ServiceUnavailable, SoldOut, place_order
from purchase.reconciler import lambda_handler as reconcile
from purchase.request import PurchaseRequest
from purchase.settings import LedgerSettings, Settings
from tests.conftest import (
    REGION,
    VALID,
    FakeLambdaContext,
    load_event,
    purchase_event,
    receive_all,
    sent_emails,
    ticket_item,
)
from tests.integration.test_flow import deliver
from tests.integration.test_template import alarm_metrics
from tools.provision import LocalResources
from worker.adapters import TicketLedger as WorkerLedger
from worker.delivery import Claim

ROOFTOP = "beatles-rooftop-london-1969"


def purchase(context: LambdaContext, key: str | None = None, **changes: Any) -> dict[str, Any]:
    response: dict[str, Any] = purchase_app.lambda_handler(purchase_event(key, gigId=ROOFTOP, **changes), context)
    return response


def rooftop_order() -> PurchaseRequest:
    """An order for ROOFTOP, validated as the purchase validates one."""
    return PurchaseRequest.model_validate({**VALID, "gigId": ROOFTOP}, context={"today": date(2026, 11, 23)})


def place_through(ledger_client: Any, **options: Any) -> Ticket:
    """`place_order` of `rooftop_order()` with the real adapters, the ledger's calls made by `ledger_client`."""
    settings = LedgerSettings.from_env()
    catalogue, queue = GigCatalogue(settings.gigs_table_name), SqsTicketQueue(settings.queue_url)
    return place_order(rooftop_order(), catalogue, TicketLedger(settings, client=ledger_client), queue, **options)


class Scripted:
    """moto's DynamoDB client for the ledger, whose first transactions end as `script` says: each step commits
    the transaction first or not, then raises its error. Later transactions go through. `transactions` holds
    every transaction's items, as sent."""

    def __init__(self, *script: tuple[bool, Exception]) -> None:
        self._client = boto3.client("dynamodb", region_name=REGION)
        self._script = list(script)
        self.transactions: list[list[dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        self.transactions.append(request["TransactItems"])
        if not self._script:
            return self._client.transact_write_items(**request)
        commit, error = self._script.pop(0)
        if commit:
            self._client.transact_write_items(**request)
        raise error


def refused(code: str, retries: int = 0) -> ClientError:
    """DynamoDB's refusal with `code`, after `retries` of botocore's own."""
    answer: Any = {"Error": {"Code": code}, "ResponseMetadata": {"RetryAttempts": retries}}
    return ClientError(answer, "TransactWriteItems")


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def gig_item(gig_id: str = ROOFTOP) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(LedgerSettings.from_env().gigs_table_name)
    item: dict[str, Any] = table.get_item(Key={"id": gig_id}, ConsistentRead=True)["Item"]
    return item


def set_seats(capacity: int, sold: int = 0, gig_id: str = ROOFTOP) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(LedgerSettings.from_env().gigs_table_name)
    table.update_item(
        Key={"id": gig_id},
        UpdateExpression="SET #c = :c, sold = :s",
        ExpressionAttributeNames={"#c": "capacity"},
        ExpressionAttributeValues={":c": capacity, ":s": sold},
    )


def tickets_of(gig_id: str = ROOFTOP) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(LedgerSettings.from_env().tickets_table_name)
    return [item for item in table.scan()["Items"] if item.get("gigId") == gig_id]


def queued(resources: LocalResources) -> list[str]:
    return [json.loads(message["Body"])["ticketId"] for message in receive_all(resources.refs["PurchaseQueue"])]


def emails_about(ticket_id: str) -> int:
    return sum(ticket_id in email.body for email in sent_emails())


def its_time_runs_out() -> None:
    """The crashed invocation's time runs out: Powertools' in-progress record of it expires, as it would then."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(Settings.from_env().idempotency_table_name)
    for record in table.scan()["Items"]:
        table.update_item(
            Key={"id": record["id"]},
            UpdateExpression="SET in_progress_expiration = :past",
            ExpressionAttributeValues={":past": 0},
        )


class Crash(BaseException):
    """The process dying mid-invocation: nothing after it runs, no `except Exception` sees it."""


@contextmanager
def crashing_before_the_queue() -> Iterator[None]:
    """The purchase dies after taking the seat and recording the ticket, before queueing the message."""

    def crash(self: SqsTicketQueue, message: TicketMessage) -> None:
        raise Crash

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqsTicketQueue, "send", crash)
        yield


def purchase_dies_before_the_queue(context: LambdaContext, key: str | None = None) -> None:
    """A purchase that takes the seat and records the ticket, then dies before queueing its message."""
    with crashing_before_the_queue(), pytest.raises(Crash):
        purchase(context, key=key)


def stranded_and_due(count: int, context: LambdaContext) -> list[str]:
    """`count` tickets left RESERVED by purchases that died, past their grace period; oldest first."""
    for _ in range(count):
        purchase_dies_before_the_queue(context)
    stranded = sorted((ticket["id"] for ticket in tickets_of()), key=lambda i: ticket_item(i)["createdAt"])
    for ticket_id in stranded:
        grace_period_passes(ticket_id)
    return stranded


def grace_period_passes(ticket_id: str) -> None:
    """Time passes for this ticket: its reconciliation falls due (RECONCILE_AFTER_SECONDS is 600 s)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(LedgerSettings.from_env().tickets_table_name)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    table.update_item(
        Key={"id": ticket_id},
        UpdateExpression="SET reconcileAfter = :past",
        ConditionExpression="attribute_exists(reconcileAfter)",
        ExpressionAttributeValues={":past": past},
    )


# --- Seats ------------------------------------------------------------------------------------------------


def test_a_purchase_takes_a_seat_and_records_a_reserved_ticket(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context)

    ticket_id = body(response)["ticketId"]
    ticket = ticket_item(ticket_id)
    assert response["statusCode"] == 202
    assert int(gig_item()["sold"]) == 1
    assert (ticket["status"], ticket["gigId"], ticket["buyerName"], ticket["buyerEmail"]) == (
        "RESERVED",
        ROOFTOP,
        "Ada Lovelace",
        "ada@example.com",
    )
    assert ticket["maskedEmail"] == "a***@example.com"
    assert ticket["price"] == "2500.00"
    assert int(ticket["expiresAt"]) > datetime.now(UTC).timestamp() + 89 * 24 * 3600
    assert "card" not in json.dumps(ticket, default=str).lower()
    assert VALID["cardNumber"] not in json.dumps(ticket, default=str)


def test_fifty_concurrent_buyers_of_five_seats_get_five_tickets_and_forty_five_sold_outs(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    set_seats(capacity=5)
    settings = LedgerSettings.from_env()
    catalogue, ledger = GigCatalogue(settings.gigs_table_name), TicketLedger(settings)
    queue = SqsTicketQueue(settings.queue_url)
    order = rooftop_order()
    start = threading.Barrier(50)

    def buyer(_: int) -> str:
        start.wait()
        try:
            return str(place_order(order, catalogue, ledger, queue).ticket_id)
        except SoldOut:
            return "sold out"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(buyer, range(50)))
    deliver(resources, lambda_context)

    sold = [outcome for outcome in outcomes if outcome != "sold out"]
    assert (len(sold), outcomes.count("sold out")) == (5, 45)
    assert sorted(ticket["id"] for ticket in tickets_of()) == sorted(sold)
    assert {ticket["status"] for ticket in tickets_of()} == {"CONFIRMED"}
    assert sorted(emails_about(ticket_id) for ticket_id in sold) == [1] * 5
    assert len(sent_emails()) == 5
    assert int(gig_item()["sold"]) == 5


def test_a_seat_taken_whose_answer_was_lost_is_answered_as_done_when_botocore_retries(
    resources: LocalResources,
) -> None:
    client = boto3.client("dynamodb", region_name=REGION)

    def lose_the_first_answer(attempts: int, **_: Any) -> float | None:
        return 0 if attempts == 1 else None  # retry at once, as after a read timeout: it had committed

    client.meta.events.register_first("needs-retry.dynamodb.TransactWriteItems", lose_the_first_answer)

    ticket = place_through(client)

    assert [item["id"] for item in tickets_of()] == [str(ticket.ticket_id)]
    assert ticket_item(str(ticket.ticket_id))["status"] == "RESERVED"
    assert int(gig_item()["sold"]) == 1
    assert queued(resources) == [str(ticket.ticket_id)]


def test_a_seat_whose_transaction_botocore_found_still_in_progress_is_answered_as_done_when_it_commits(
    resources: LocalResources,
) -> None:
    client = boto3.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG)
    sends: list[bytes] = []  # the transaction's requests, as sent

    def lose_the_first_answer(attempts: int, **_: Any) -> float | None:
        return 0 if len(sends) == 1 else None  # it committed; botocore retries at once, as after a read timeout

    def still_in_progress(request: Any, **_: Any) -> AWSResponse | None:
        sends.append(request.body)
        if len(sends) != 2:
            return None
        # botocore's retry reaches DynamoDB while it is still finishing the first: botocore's attempts are spent.
        body = b'{"__type": "com.amazonaws.dynamodb.v20120810#TransactionInProgressException"}'
        return AWSResponse("https://dynamodb", 400, HTTPHeaders(), MockRawResponse(body))

    client.meta.events.register_first("needs-retry.dynamodb.TransactWriteItems", lose_the_first_answer)
    client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", still_in_progress)

    ticket = place_through(client)

    assert (len(sends), len(set(sends))) == (3, 1)  # the same transaction, with the same token, each time
    assert [item["id"] for item in tickets_of()] == [str(ticket.ticket_id)]
    assert int(gig_item()["sold"]) == 1
    assert queued(resources) == [str(ticket.ticket_id)]


def test_a_transaction_still_in_progress_is_tried_again_only_while_the_purchase_has_time_for_it(
    resources: LocalResources,
) -> None:
    seconds_left = [3 * CALL_SECONDS]  # just enough to take a seat: the seat, the message, a release

    class InProgress:
        """DynamoDB's answer to botocore's retry, every time, after an attempt that timed out (1.9 s)."""

        calls = 0

        def transact_write_items(self, **_: Any) -> None:
            self.calls += 1
            seconds_left[0] -= 1.9
            raise ClientError({"Error": {"Code": "TransactionInProgressException"}}, "TransactWriteItems")

    client = InProgress()

    with pytest.raises(ServiceUnavailable):
        place_through(client, deadline=Deadline(lambda: seconds_left[0], CALL_SECONDS))

    # A second try would have left less than the message and a release need; a release would only conflict
    # with the transaction still running (if it commits, the reconciler queues the ticket).
    assert client.calls == 1
    assert queued(resources) == []


def test_a_refusal_after_a_transaction_found_in_progress_still_releases_the_seat(resources: LocalResources) -> None:
    # The first attempt commits unheard (botocore's own retry heard "in progress"); the ledger's retry finds it
    # in progress; the next is throttled on botocore's only attempt, its retry quota spent.
    in_progress = "TransactionInProgressException"
    brownout = Scripted(
        (True, refused(in_progress)), (False, refused(in_progress)), (False, refused("ThrottlingException"))
    )

    with pytest.raises(ServiceUnavailable):
        place_through(brownout)

    (ticket,) = tickets_of()
    assert ticket["status"] == "RELEASED"
    assert int(gig_item()["sold"]) == 0
    assert queued(resources) == []


@pytest.mark.parametrize(
    ("code", "retries", "may_have_committed"),
    [
        ("ProvisionedThroughputExceededException", 0, False),  # refused on botocore's only attempt
        ("ProvisionedThroughputExceededException", 1, True),  # the first attempt's answer may have been lost
        ("InternalServerError", 0, True),
    ],
)
def test_a_failed_seat_step_is_released_only_when_it_may_have_committed(
    resources: LocalResources, code: str, retries: int, may_have_committed: bool
) -> None:
    client = Scripted((False, refused(code, retries)))

    with pytest.raises(ServiceUnavailable):
        place_through(client)

    # The release of a ticket never recorded is refused: nothing changes, but it is one more write during an
    # outage, tried only when the seat may be taken.
    assert len(client.transactions) == (2 if may_have_committed else 1)
    assert tickets_of() == []
    assert int(gig_item().get("sold", 0)) == 0
    assert queued(resources) == []


def test_a_seat_taken_whose_answers_were_all_lost_is_given_back_and_the_key_freed(
    resources: LocalResources,
) -> None:
    claim = KeyClaim("order-1", rooftop_order().fingerprint())

    with pytest.raises(ServiceUnavailable):
        # Its first transaction commits, and every answer to it times out.
        place_through(Scripted((True, ReadTimeoutError(endpoint_url="https://dynamodb.example"))), claim=claim)

    (released,) = tickets_of()
    assert released["status"] == "RELEASED"
    assert int(gig_item()["sold"]) == 0
    assert queued(resources) == []
    # The buyer's retry with the same key buys the seat afresh.
    retried = place_through(boto3.client("dynamodb", region_name=REGION), claim=claim)
    assert str(retried.ticket_id) != released["id"]
    assert int(gig_item()["sold"]) == 1
    assert queued(resources) == [str(retried.ticket_id)]


def test_a_sold_out_gig_answers_409_naming_the_gig_and_queues_nothing(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    set_seats(capacity=1, sold=1)

    response = purchase(lambda_context)

    assert response["statusCode"] == 409
    assert body(response) == {
        "message": "Sold out",
        "errors": [{"field": "gigId", "message": "Every ticket for this gig has been sold"}],
    }
    assert (tickets_of(), queued(resources)) == ([], [])


def test_the_ledger_refuses_the_last_seat_twice_even_when_the_catalogue_read_was_stale(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_seats(capacity=1)
    stale = GigCatalogue(LedgerSettings.from_env().gigs_table_name).find(ROOFTOP)  # read while a seat was left
    monkeypatch.setattr(GigCatalogue, "find", lambda self, gig_id: stale)
    first = purchase(lambda_context)

    second = purchase(lambda_context)

    assert (first["statusCode"], second["statusCode"]) == (202, 409)
    assert len(tickets_of()) == 1


def test_an_invocation_without_time_to_give_a_seat_back_takes_none_and_answers_503(
    resources: LocalResources,
) -> None:
    # An invocation with 12 s left: less than a seat, a message and a release take at their slowest.
    response = purchase(cast(LambdaContext, FakeLambdaContext(remaining_ms=12_000)), key="order-1")

    assert (response["statusCode"], response["headers"]["Retry-After"]) == (503, "5")
    assert tickets_of() == []
    assert int(gig_item().get("sold", 0)) == 0
    assert purchase(cast(LambdaContext, FakeLambdaContext()), key="order-1")["statusCode"] == 202


def test_when_the_queue_is_down_the_seat_is_given_back_and_the_ticket_released(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_URL", resources.refs["PurchaseQueue"] + "-gone")
    left_before = int(gig_item()["capacity"]) - int(gig_item().get("sold", 0))

    response = purchase(lambda_context)

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"
    assert "ticketId" not in body(response)
    assert queued(resources) == []
    (ticket,) = tickets_of()
    assert ticket["status"] == "RELEASED"
    assert "reconcileAfter" not in ticket  # out of the reconciler's reach
    assert int(gig_item()["capacity"]) - int(gig_item()["sold"]) == left_before


def test_a_ticket_the_worker_has_claimed_but_not_yet_emailed_is_not_released(resources: LocalResources) -> None:
    # The purchase's send timed out, yet SQS had the message, and the worker claimed the ticket before the release.
    settings = LedgerSettings.from_env()
    ticket = place_through(boto3.client("dynamodb", region_name=REGION))
    assert WorkerLedger(settings.tickets_table_name).claim(ticket.ticket_id) is Claim.CLAIMED

    released = TicketLedger(settings).release(ticket, None)

    assert released is False
    assert ticket_item(str(ticket.ticket_id))["status"] == "RESERVED"
    assert int(gig_item()["sold"]) == 1  # the seat is sold: the worker sends its email


# --- Idempotency-Key --------------------------------------------------------------------------------------


def test_the_same_key_and_order_get_the_same_ticket_one_seat_and_one_email(
    resources: LocalResources, lambda_context: LambdaContext, logs: StringIO
) -> None:
    first = purchase(lambda_context, key="order-1")
    again = purchase(lambda_context, key="order-1")
    deliver(resources, lambda_context)

    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    assert body(again)["ticketId"] == body(first)["ticketId"]
    assert len(tickets_of()) == 1
    assert int(gig_item()["sold"]) == 1
    assert emails_about(body(first)["ticketId"]) == 1
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    accepted = [line["ticketId"] for line in lines if line["message"] == "Ticket accepted"]
    replayed = [line["ticketId"] for line in lines if line["message"] == "Order replayed for its Idempotency-Key"]
    assert accepted == replayed == [body(first)["ticketId"]]  # told apart in the logs (and OrdersReplayed)


def test_powertools_records_sit_under_each_function_s_own_prefix(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    purchase(lambda_context, key="order-1")
    deliver(resources, lambda_context)

    table = boto3.resource("dynamodb", region_name=REGION).Table(Settings.from_env().idempotency_table_name)
    prefixes = sorted(item["id"].split("#")[0] for item in table.scan()["Items"])

    assert prefixes == ["purchase", "worker"]


def test_orders_without_a_key_each_buy_a_ticket(resources: LocalResources, lambda_context: LambdaContext) -> None:
    first, second = purchase(lambda_context), purchase(lambda_context)

    assert body(first)["ticketId"] != body(second)["ticketId"]
    assert int(gig_item()["sold"]) == 2


def test_the_same_key_with_a_different_order_is_a_422_naming_the_header(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    purchase(lambda_context, key="order-1")

    response = purchase(lambda_context, key="order-1", email="eve@example.com")

    assert response["statusCode"] == 422
    assert [error["field"] for error in body(response)["errors"]] == ["Idempotency-Key"]
    assert len(tickets_of()) == 1


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "clé", "tab\there", "line\nbreak"], ids=["empty", "256", "non-ascii", "tab", "newline"]
)
def test_a_malformed_key_is_a_400_naming_the_header(
    key: str, resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = purchase(lambda_context, key=key)

    assert response["statusCode"] == 400
    assert body(response)["errors"] == [
        {"field": "Idempotency-Key", "message": "Must be 1 to 255 printable ASCII characters"}
    ]
    assert tickets_of() == []


def test_a_key_of_255_printable_characters_is_accepted(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    assert purchase(lambda_context, key="~" * 254 + " ")["statusCode"] == 202


def test_the_same_key_while_the_first_request_runs_is_a_409_to_retry(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    purchase_dies_before_the_queue(lambda_context, key="order-1")  # still "running": its invocation has 30 s left

    response = purchase(lambda_context, key="order-1")

    assert response["statusCode"] == 409
    assert response["headers"]["Retry-After"] == "1"
    assert [error["field"] for error in body(response)["errors"]] == ["Idempotency-Key"]


def test_two_requests_racing_with_one_key_buy_one_ticket(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    settings = LedgerSettings.from_env()
    catalogue, ledger = GigCatalogue(settings.gigs_table_name), TicketLedger(settings)
    queue = SqsTicketQueue(settings.queue_url)
    order = rooftop_order()
    from purchase.orders import KeyClaim

    claim = KeyClaim("order-1", order.fingerprint())
    start = threading.Barrier(8)

    def retrying_client(_: int) -> str:
        start.wait()
        return str(place_order(order, catalogue, ledger, queue, claim).ticket_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        ticket_ids = set(pool.map(retrying_client, range(8)))

    assert len(ticket_ids) == 1
    assert len(tickets_of()) == 1
    assert int(gig_item()["sold"]) == 1


# --- A crash between the seat and the queue -----------------------------------------------------------------


def test_a_retry_after_a_crash_between_seat_and_queue_gets_the_same_ticket_and_one_email(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    purchase_dies_before_the_queue(lambda_context, key="order-1")
    its_time_runs_out()
    (stranded,) = tickets_of()

    retry = purchase(lambda_context, key="order-1")
    deliver(resources, lambda_context)

    assert retry["statusCode"] == 202
    assert body(retry)["ticketId"] == stranded["id"]
    assert int(gig_item()["sold"]) == 1
    assert emails_about(stranded["id"]) == 1
    assert ticket_item(stranded["id"])["status"] == "CONFIRMED"


def test_a_retry_after_a_crash_that_took_the_last_seat_gets_that_ticket_not_sold_out(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    set_seats(capacity=1)
    purchase_dies_before_the_queue(lambda_context, key="order-1")
    its_time_runs_out()
    (stranded,) = tickets_of()

    retry = purchase(lambda_context, key="order-1")

    assert retry["statusCode"] == 202, body(retry)
    assert body(retry)["ticketId"] == stranded["id"]
    assert int(gig_item()["sold"]) == 1


def test_a_retry_after_others_sold_the_gig_out_gets_its_ticket_and_a_new_key_is_sold_out(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    set_seats(capacity=2)
    purchase_dies_before_the_queue(lambda_context, key="order-1")
    its_time_runs_out()
    (stranded,) = tickets_of()
    assert purchase(lambda_context, key="order-2", email="eve@example.com")["statusCode"] == 202

    retry = purchase(lambda_context, key="order-1")
    another = purchase(lambda_context, key="order-3", email="bob@example.com")

    assert (retry["statusCode"], body(retry)["ticketId"]) == (202, stranded["id"])
    assert another["statusCode"] == 409
    assert int(gig_item()["sold"]) == 2


def test_a_retry_after_a_crash_with_the_key_reused_for_another_order_is_a_422(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    purchase_dies_before_the_queue(lambda_context, key="order-1")
    its_time_runs_out()

    # Powertools' record of the first attempt has expired: the ledger's key item is what catches this.
    response = purchase(lambda_context, key="order-1", email="eve@example.com")

    assert response["statusCode"] == 422
    assert [error["field"] for error in body(response)["errors"]] == ["Idempotency-Key"]
    assert len(tickets_of()) == 1
    assert int(gig_item()["sold"]) == 1


def test_without_a_retry_the_reconciler_gets_the_stranded_ticket_emailed(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    purchase_dies_before_the_queue(lambda_context)
    (stranded,) = tickets_of()
    early = reconcile(load_event("reconcile-scheduled.json"), lambda_context)
    grace_period_passes(stranded["id"])

    due = reconcile(load_event("reconcile-scheduled.json"), lambda_context)
    deliver(resources, lambda_context)

    assert early == {"requeued": 0, "settled": 0, "orphaned": 0, "failed": 0}
    assert due == {"requeued": 1, "settled": 0, "orphaned": 0, "failed": 0}
    assert emails_about(stranded["id"]) == 1
    assert ticket_item(stranded["id"])["status"] == "CONFIRMED"


def test_a_settled_ticket_leaves_the_reconciler_s_index_and_is_left_alone(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    settled = body(purchase(lambda_context))["ticketId"]
    deliver(resources, lambda_context)

    result = reconcile(load_event("reconcile-scheduled.json"), lambda_context)

    assert "reconcileAfter" not in ticket_item(settled)
    assert result["requeued"] == 0
    assert queued(resources) == []


def test_a_ticket_requeued_for_days_waits_at_most_six_hours_and_the_others_are_still_requeued(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    stuck, other = stranded_and_due(2, lambda_context)
    table = boto3.resource("dynamodb", region_name=REGION).Table(LedgerSettings.from_env().tickets_table_name)
    # About nine days of doubling backoff (capped at 6 h) behind it.
    table.update_item(Key={"id": stuck}, UpdateExpression="SET requeues = :n", ExpressionAttributeValues={":n": 40})

    before = datetime.now(UTC).replace(microsecond=0)  # reconcileAfter is kept to the millisecond
    result = reconcile(load_event("reconcile-scheduled.json"), lambda_context)
    after = datetime.now(UTC)

    assert result == {"requeued": 2, "settled": 0, "orphaned": 0, "failed": 0}
    assert sorted(queued(resources)) == sorted([stuck, other])
    next_time = datetime.fromisoformat(ticket_item(stuck)["reconcileAfter"])
    assert before + timedelta(hours=6) <= next_time <= after + timedelta(hours=6)


def test_a_ticket_whose_requeue_fails_is_reported_and_the_others_are_requeued(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranded_and_due(3, lambda_context)
    send = SqsTicketQueue.send
    refusals = iter([True])

    def send_unless_refused(self: SqsTicketQueue, message: TicketMessage) -> None:
        if next(refusals, False):
            raise ServiceUnavailable("purchase queue unavailable")
        send(self, message)

    monkeypatch.setattr(SqsTicketQueue, "send", send_unless_refused)
    result = reconcile(load_event("reconcile-scheduled.json"), lambda_context)

    assert result == {"requeued": 2, "settled": 0, "orphaned": 0, "failed": 1}
    assert len(queued(resources)) == 2


def test_a_run_that_cannot_read_the_index_reports_what_it_did_and_fails(
    resources: LocalResources, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    stranded_and_due(1, lambda_context)
    capsys.readouterr()
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=resources.refs["TicketsTable"])

    # A failed run: FunctionErrorsAlarm counts it.
    with pytest.raises(ServiceUnavailable, match="UnsettledTickets"):
        reconcile(load_event("reconcile-scheduled.json"), lambda_context)

    # Its metrics are out all the same.
    (emitted,) = [line for line in map(json.loads, capsys.readouterr().out.splitlines()) if "_aws" in line]
    assert (emitted["TicketsRequeued"], emitted["TicketsNotRequeued"]) == ([0.0], [0.0])


def test_a_ticket_not_requeued_fires_the_alarm_that_watches_for_it(
    resources: LocalResources, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    stranded_and_due(1, lambda_context)
    capsys.readouterr()

    def refused(self: SqsTicketQueue, message: TicketMessage) -> None:
        raise ServiceUnavailable("purchase queue unavailable")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqsTicketQueue, "send", refused)
        reconcile(load_event("reconcile-scheduled.json"), lambda_context)

    # The metric as Powertools writes it (embedded metric format), and as TicketsNeedAttentionAlarm reads it.
    (emitted,) = [line for line in map(json.loads, capsys.readouterr().out.splitlines()) if "_aws" in line]
    (directive,) = emitted["_aws"]["CloudWatchMetrics"]
    watched = {query["Id"]: query["MetricStat"]["Metric"] for query in alarm_metrics("TicketsNeedAttentionAlarm")}
    not_requeued = watched["notRequeued"]
    assert directive["Namespace"] == not_requeued["Namespace"]
    assert directive["Dimensions"] == [[dimension["Name"] for dimension in not_requeued["Dimensions"]]]
    assert all(emitted[dimension["Name"]] == dimension["Value"] for dimension in not_requeued["Dimensions"])
    assert emitted[not_requeued["MetricName"]] == [1.0]
