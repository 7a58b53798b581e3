"""The local stack (`make dev`) as a user sees it: over HTTP, in the outbox, on the queues, on the console."""

import json
import os
import re
import signal
import socket
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import load_event
from tests.e2e.conftest import SCHEDULE_INTERVAL
from tests.e2e.local_stack import RunningStack, http, start_stack, wait_until
from tools.catalogue import load_gigs
from tools.sam_template import ROOT, SamTemplate

FRONTEND_ORIGIN = "http://localhost:8080"


def _ticket_message(ticket_id: str) -> str:
    """A message as PurchaseFunction queues it (the first record of events/worker-batch.json), for `ticket_id`."""
    body = json.loads(load_event("worker-batch.json")["Records"][0]["body"])
    return json.dumps({**body, "ticketId": ticket_id})


def test_a_purchase_is_accepted_and_the_buyer_is_emailed_the_ticket(local_stack: RunningStack) -> None:
    # Given a valid order, as the frontend sends it
    order = json.loads(load_event("purchase-valid.json")["body"])
    headers = {"content-type": "application/json", "origin": FRONTEND_ORIGIN}

    # When it is posted
    response = http("POST", f"{local_stack.api_url}/purchase", json.dumps(order).encode(), headers)

    # Then it is accepted with a ticket id, and the buyer's confirmation lands in the outbox
    assert response.status == 202, response.body
    ticket_id = response.json()["ticketId"]
    email = local_stack.wait_for_email(ticket_id)
    assert email["To"] == order["email"]
    assert ticket_id in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ticket_id in email.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_the_email_to_a_buyer_whose_name_holds_a_uuid_is_filed_under_the_ticket(local_stack: RunningStack) -> None:
    # Given an order from a buyer whose name holds a UUID (which the email shows before the ticket's)
    buyer_uuid = "abcdef12-3456-4abc-8def-abcdef123456"  # no run of 12 digits: that would be a card number
    order = {**json.loads(load_event("purchase-valid.json")["body"]), "name": f"Ada {buyer_uuid}"}

    # When it is posted
    response = http(
        "POST", f"{local_stack.api_url}/purchase", json.dumps(order).encode(), {"content-type": "application/json"}
    )

    # Then the confirmation is filed under the ticket, and nothing under the buyer's UUID
    assert response.status == 202, response.body
    ticket_id = response.json()["ticketId"]
    email = local_stack.wait_for_email(ticket_id)
    assert buyer_uuid in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert local_stack.emails_about(buyer_uuid) == []


def test_a_poison_message_is_dead_lettered_after_max_receive_count_and_its_neighbours_are_emailed_once(
    local_stack: RunningStack,
) -> None:
    # Given the queue the worker reads, and its redrive policy as the template declares it
    (mapping,) = SamTemplate().queue_mappings()
    redrive = SamTemplate().of_type("AWS::SQS::Queue")[mapping.queue]["RedrivePolicy"]
    dead_letter_queue, max_receive_count = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0], redrive["maxReceiveCount"]
    sqs = local_stack.client("sqs")
    good_before, good_after = str(uuid.uuid4()), str(uuid.uuid4())
    for ticket_id in (good_before, good_after):  # sold: the worker emails no ticket the ledger does not hold
        local_stack.reserve_ticket(ticket_id)

    # When a message no worker can read is queued between two good ones
    sent = sqs.send_message_batch(
        QueueUrl=local_stack.queue_url(mapping.queue),
        Entries=[
            {"Id": "before", "MessageBody": _ticket_message(good_before)},
            {"Id": "poison", "MessageBody": json.dumps({"ticketId": f"poison-{uuid.uuid4()}"})},
            {"Id": "after", "MessageBody": _ticket_message(good_after)},
        ],
    )
    poison_id = next(entry["MessageId"] for entry in sent["Successful"] if entry["Id"] == "poison")

    # Then it ends in the dead-letter queue...
    dead_letters = local_stack.queue_url(dead_letter_queue)

    def dead_lettered() -> dict[str, Any] | None:
        received = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return next((m for m in received.get("Messages", []) if m["MessageId"] == poison_id), None)

    wait_until(dead_lettered, timeout=45, what=f"message {poison_id} in {dead_letter_queue}")

    # ...after exactly maxReceiveCount deliveries to the worker, each one failed (the last one's line may still
    # be on its way from the stack when the dead-letter queue has the message: the queue moves it a visibility
    # timeout after that delivery, which a slow invocation may have used up)
    def deliveries() -> list[str]:
        return local_stack.output.lines_with(f"{mapping.queue} -> {mapping.function}", poison_id)

    wait_until(lambda: len(deliveries()) >= max_receive_count, timeout=10, what="the last delivery on the console")
    assert len(deliveries()) == max_receive_count, "\n".join(deliveries())
    assert f"receive {max_receive_count} of {max_receive_count}" in deliveries()[-1]
    # ...and the good messages around it were emailed, once each
    for ticket_id in (good_before, good_after):
        local_stack.wait_for_email(ticket_id)
        assert len(local_stack.emails_about(ticket_id)) == 1


def test_the_start_up_summary_says_how_often_each_schedule_runs_here_and_on_aws(local_stack: RunningStack) -> None:
    for schedule in SamTemplate().schedules():
        assert local_stack.output.lines_with(f"runs every {SCHEDULE_INTERVAL} s here; {schedule.expression} on AWS")


def test_a_ticket_a_dead_purchase_left_reserved_is_requeued_by_the_scheduled_reconciler_and_emailed(
    local_stack: RunningStack,
) -> None:
    # Given a ticket as a purchase leaves it when it dies after recording the ticket and before queueing its
    # email: RESERVED in the ledger the reconciler reads, long past its grace period, and on no queue
    (schedule,) = SamTemplate().schedules()
    ticket_id = str(uuid.uuid4())
    stuck = local_stack.reserve_ticket(ticket_id, reconcile_after="2000-01-01T00:00:00.000Z")

    # When the schedule runs the reconciler, then the worker gets the message
    email = local_stack.wait_for_email(ticket_id, timeout=SCHEDULE_INTERVAL * 5 + 20)

    # Then the buyer has their email, the ticket is confirmed, and the run said it requeued a ticket
    assert email["To"] == stuck["buyerEmail"]
    wait_until(
        lambda: http("GET", f"{local_stack.api_url}/tickets/{ticket_id}").json()["status"] == "CONFIRMED",
        timeout=10,
        what=f"ticket {ticket_id} CONFIRMED",
    )
    assert local_stack.output.search(re.compile(rf"^sched +{schedule.name} -> {schedule.function}: requeued [1-9]"))


def test_a_cors_preflight_from_the_local_frontend_is_answered_as_the_template_configures(
    local_stack: RunningStack,
) -> None:
    # Given the API's CORS configuration
    cors = SamTemplate().http_api_cors()

    # When the browser asks whether the frontend may post an order
    response = http(
        "OPTIONS",
        f"{local_stack.api_url}/purchase",
        headers={
            "origin": FRONTEND_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )

    # Then the API answers for itself with the template's methods, headers and max age
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == FRONTEND_ORIGIN
    assert response.headers["access-control-allow-methods"].split(",") == cors["AllowMethods"]
    assert response.headers["access-control-allow-headers"].split(",") == cors["AllowHeaders"]
    assert response.headers["access-control-max-age"] == str(cors["MaxAge"])


@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
def test_an_origin_the_template_does_not_allow_gets_no_cors_headers(local_stack: RunningStack, method: str) -> None:
    # Given a page on some other site
    headers = {"origin": "https://evil.example", "access-control-request-method": "GET"}

    # When it calls the API (a preflight, or the request itself)
    response = http(method, f"{local_stack.api_url}/gigs", headers=headers)

    # Then the browser is not told it may read the answer
    assert "access-control-allow-origin" not in response.headers


def test_the_gigs_list_is_the_seeded_catalogue(local_stack: RunningStack) -> None:
    # Given the catalogue the stack seeds, data/gigs.json
    seeded = {gig["id"] for gig in load_gigs()}

    # When the gigs are listed
    response = http("GET", f"{local_stack.api_url}/gigs", headers={"origin": FRONTEND_ORIGIN})

    # Then every seeded gig is there, and the frontend may read them
    assert response.status == 200
    assert {gig["id"] for gig in response.json()} == seeded
    assert response.headers["access-control-allow-origin"] == FRONTEND_ORIGIN


def test_a_route_the_template_does_not_declare_is_a_json_404(local_stack: RunningStack) -> None:
    # When
    response = http("GET", f"{local_stack.api_url}/no-such-route")

    # Then, as API Gateway answers it
    assert response.status == 404
    assert response.json() == {"message": "Not Found"}


def test_each_request_is_one_line_on_the_console(local_stack: RunningStack) -> None:
    # When
    http("GET", f"{local_stack.api_url}/gigs/queen-wembley-1986")

    # Then
    local_stack.output.wait_for(re.compile(r"^api +GET /gigs/queen-wembley-1986 -> 200 GigsFunction \d+ ms$"), 5)


def test_the_frontend_is_served_under_the_templates_content_security_policy(local_stack: RunningStack) -> None:
    # When the home page is loaded
    response = http("GET", f"{local_stack.frontend_url}/")

    # Then it is frontend/index.html, and its policy lets it call the local API and nothing new besides
    assert response.status == 200
    assert response.body == (ROOT / "frontend" / "index.html").read_bytes()
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    (connect_src,) = [d.split() for d in csp.split(";") if d.split()[0] == "connect-src"]
    assert local_stack.api_url in connect_src
    assert "default-src 'self'" in csp


def test_the_frontend_settings_point_at_the_local_api(local_stack: RunningStack) -> None:
    # When
    response = http("GET", f"{local_stack.frontend_url}/.well-known/settings.json")

    # Then
    assert response.status == 200
    assert response.json() == {"apiBaseUrl": local_stack.api_url}
    assert response.headers["cache-control"] == "no-store"


def test_the_frontend_serves_nothing_outside_its_folder(local_stack: RunningStack) -> None:
    # When a request climbs out of frontend/ (sent as is: clients would normalise the path)
    host, port = urlsplit(local_stack.frontend_url).hostname, urlsplit(local_stack.frontend_url).port
    with socket.create_connection((str(host), int(port or 80)), timeout=5) as connection:
        connection.sendall(b"GET /../template.yml HTTP/1.0\r\n\r\n")
        answer = b"".join(iter(lambda: connection.recv(65536), b""))

    # Then it is refused, and the template stays unseen
    assert answer.startswith(b"HTTP/1.0 400"), answer[:100]
    assert b"AWSTemplateFormatVersion" not in answer


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the function processes through /proc")
def test_ctrl_c_stops_the_stack_with_every_server_and_function_process(tmp_path: Path) -> None:
    # Given a running stack, with a process per function
    stack = start_stack(tmp_path)
    functions = _children(stack.process.pid)
    assert len(functions) == len(SamTemplate().functions), str(stack.output)

    # When Ctrl-C is pressed
    exit_code = stack.stop(signal.SIGINT)

    # Then it stops cleanly: exit code 0, no function process left, no port still open
    assert exit_code == 0, str(stack.output)
    assert stack.output.lines()[-1] == "Stopped."
    assert not [pid for pid in functions if Path(f"/proc/{pid}").exists()]
    for url in (stack.api_url, stack.frontend_url, stack.aws_endpoint):
        address = urlsplit(url)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((str(address.hostname), int(address.port or 80)), timeout=2).close()


def test_ctrl_c_first_delivers_the_confirmations_of_the_orders_already_accepted(tmp_path: Path) -> None:
    # Given orders answered 202 a moment ago, and confirmations the queue will only show in two seconds
    stack = start_stack(tmp_path)
    order = json.loads(load_event("purchase-valid.json")["body"])
    headers = {"content-type": "application/json"}
    accepted = []
    for _ in range(3):
        response = http("POST", f"{stack.api_url}/purchase", json.dumps(order).encode(), headers)
        assert response.status == 202, response.body
        accepted.append(response.json()["ticketId"])
    for ticket_id in (str(uuid.uuid4()) for _ in range(2)):
        stack.reserve_ticket(ticket_id)
        queue = stack.queue_url("PurchaseQueue")
        stack.client("sqs").send_message(QueueUrl=queue, MessageBody=_ticket_message(ticket_id), DelaySeconds=2)
        accepted.append(ticket_id)

    # When Ctrl-C is pressed at once
    exit_code = stack.stop(signal.SIGINT)

    # Then each of them is emailed before the embedded AWS (and the queue with it) is gone
    assert exit_code == 0, str(stack.output)
    assert {ticket_id: len(stack.emails_about(ticket_id)) for ticket_id in accepted} == dict.fromkeys(accepted, 1)
    assert not stack.output.lines_with("not delivered"), str(stack.output)


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return [child for child in children if child != os.getpid()]
