"""Selling seats over HTTP against the local stack: a gig sells its capacity and no more, and a retried order
with the same Idempotency-Key is the same order."""

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import load_event
from tests.e2e.local_stack import HttpResult, RunningStack, http, wait_until
from tools.catalogue import load_gigs
from tools.sam_template import SamTemplate

CAPACITY = 5
BUYERS = 50
ORDER: dict[str, Any] = json.loads(load_event("purchase-valid.json")["body"])
JSON = {"content-type": "application/json"}


def _table(local_stack: RunningStack, variable: str) -> Any:
    """The table PurchaseFunction reads from `variable` (its environment, as the template declares it)."""
    return local_stack.table(SamTemplate().functions["PurchaseFunction"].environment[variable]["Ref"])


@pytest.fixture
def gig_with_five_seats(local_stack: RunningStack) -> Iterator[str]:
    """A gig of its own in the catalogue, with CAPACITY seats: the stack is shared, and other tests buy tickets."""
    gigs = _table(local_stack, "GIGS_TABLE_NAME")
    gig_id = f"burst-{uuid.uuid4().hex[:8]}"
    gigs.put_item(Item={**load_gigs()[0], "id": gig_id, "capacity": CAPACITY, "sold": 0})
    yield gig_id
    gigs.delete_item(Key={"id": gig_id})


def _tickets_for(local_stack: RunningStack, gig_id: str) -> list[dict[str, Any]]:
    tickets = _table(local_stack, "TICKETS_TABLE_NAME")
    items: list[dict[str, Any]] = []
    scan: dict[str, Any] = {
        "FilterExpression": "gigId = :gig",
        "ExpressionAttributeValues": {":gig": gig_id},
        "ConsistentRead": True,
    }
    while True:
        page = tickets.scan(**scan)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_fifty_buyers_at_once_for_five_seats_get_five_tickets_and_forty_five_sold_outs(
    local_stack: RunningStack, gig_with_five_seats: str
) -> None:
    # Given fifty buyers, each with an order for the gig, ready to post it at the same moment
    gig_id = gig_with_five_seats
    orders = [{**ORDER, "gigId": gig_id, "name": f"Buyer {n}", "email": f"buyer{n}@example.com"} for n in range(BUYERS)]
    start = threading.Barrier(BUYERS)

    def buy(order: dict[str, Any]) -> HttpResult:
        start.wait()
        return http("POST", f"{local_stack.api_url}/purchase", json.dumps(order).encode(), JSON)

    # When they all post at once
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        responses = list(pool.map(buy, orders))
    burst_seconds = time.monotonic() - started

    # Then five are sold a ticket and the others are told the gig is sold out, naming the field
    statuses = Counter(response.status for response in responses)
    assert statuses == {202: CAPACITY, 409: BUYERS - CAPACITY}, (statuses, burst_seconds)
    for response in responses:
        if response.status == 409:
            answer = response.json()
            assert answer["message"] == "Sold out"
            assert [error["field"] for error in answer["errors"]] == ["gigId"]
    sold = {response.json()["ticketId"] for response in responses if response.status == 202}
    assert len(sold) == CAPACITY
    # ...the ledger holds exactly those five tickets...
    assert {ticket["id"] for ticket in _tickets_for(local_stack, gig_id)} == sold
    # ...each buyer of one gets one email...
    for ticket_id in sold:
        local_stack.wait_for_email(ticket_id)
    wait_until(lambda: _settled(local_stack, sold), timeout=30, what="the five tickets CONFIRMED")
    assert all(len(local_stack.emails_about(ticket_id)) == 1 for ticket_id in sold)
    # ...and the gig shows no tickets left
    assert http("GET", f"{local_stack.api_url}/gigs/{gig_id}").json()["ticketsLeft"] == 0


def _settled(local_stack: RunningStack, ticket_ids: set[str]) -> bool:
    return all(
        http("GET", f"{local_stack.api_url}/tickets/{ticket_id}").json()["status"] == "CONFIRMED"
        for ticket_id in ticket_ids
    )


def _queue_is_empty(local_stack: RunningStack) -> bool:
    (mapping,) = SamTemplate().queue_mappings()
    attributes = local_stack.client("sqs").get_queue_attributes(
        QueueUrl=local_stack.queue_url(mapping.queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(count == "0" for count in attributes.values())


def test_an_order_retried_with_its_idempotency_key_is_the_same_ticket_and_one_email(local_stack: RunningStack) -> None:
    # Given an order and its Idempotency-Key
    order = {**ORDER, "email": f"retry-{uuid.uuid4()}@example.com"}
    headers = {**JSON, "Idempotency-Key": str(uuid.uuid4())}

    # When it is posted, and posted again (the buyer's connection dropped before the answer)
    first = http("POST", f"{local_stack.api_url}/purchase", json.dumps(order).encode(), headers)
    again = http("POST", f"{local_stack.api_url}/purchase", json.dumps(order).encode(), headers)

    # Then both answers are the same ticket...
    assert (first.status, again.status) == (202, 202), (first.body, again.body)
    ticket_id = first.json()["ticketId"]
    assert again.json()["ticketId"] == ticket_id
    # ...which is emailed once, and only once, when everything has settled
    local_stack.wait_for_email(ticket_id)
    wait_until(lambda: _settled(local_stack, {ticket_id}), timeout=30, what=f"ticket {ticket_id} CONFIRMED")
    wait_until(lambda: _queue_is_empty(local_stack), timeout=30, what="the purchase queue empty")
    assert len(local_stack.emails_about(ticket_id)) == 1


def test_an_idempotency_key_reused_for_a_different_order_is_a_422_naming_the_header(local_stack: RunningStack) -> None:
    # Given an order placed with a key
    headers = {**JSON, "Idempotency-Key": str(uuid.uuid4())}
    placed = http("POST", f"{local_stack.api_url}/purchase", json.dumps(ORDER).encode(), headers)
    assert placed.status == 202, placed.body

    # When the same key comes with another order
    other = {**ORDER, "name": "Someone Else"}
    response = http("POST", f"{local_stack.api_url}/purchase", json.dumps(other).encode(), headers)

    # Then it is refused, and nothing is sold for it
    assert response.status == 422, response.body
    assert [error["field"] for error in response.json()["errors"]] == ["Idempotency-Key"]
    assert "ticketId" not in response.json()
