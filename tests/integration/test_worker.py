"""The worker against moto: SES, the idempotency table and the dead-letter queue from the template."""

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from io import StringIO
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from tests.conftest import REGION, FakeLambdaContext, load_event, receive_all, reserve, sent_emails, ticket_item
from tools.provision import LocalResources
from worker import app
from worker.adapters import SEND_SECONDS, SesMailer, TicketLedger
from worker.delivery import Deadline
from worker.email_content import Email


def batch(*bodies: str) -> dict[str, Any]:
    event = load_event("worker-batch.json")
    template = event["Records"][0]
    event["Records"] = [{**deepcopy(template), "messageId": f"m-{n}", "body": body} for n, body in enumerate(bodies, 1)]
    return event


def bodies() -> list[str]:
    return [record["body"] for record in load_event("worker-batch.json")["Records"]]


@contextmanager
def confirms_failing(
    refused: Callable[[uuid.UUID, int], bool] = lambda ticket, earlier: False,
) -> Iterator[list[uuid.UUID]]:
    """The ledger's CONFIRMED writes, each throttled where `refused(ticket, writes before it)` says; yields
    the ticket of every write tried."""
    confirm, writes = TicketLedger.confirm, []

    def throttled(self: TicketLedger, ticket: uuid.UUID, message_id: str) -> None:
        writes.append(ticket)
        if refused(ticket, len(writes) - 1):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
        confirm(self, ticket, message_id)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TicketLedger, "confirm", throttled)
        yield writes


@pytest.fixture
def sold(resources: LocalResources) -> list[str]:
    """The sample batch's tickets, sold and waiting for their email."""
    reserve(*bodies())
    return bodies()


def test_each_record_of_a_batch_is_emailed_once_to_its_buyer(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    response = app.lambda_handler(batch(*bodies()), lambda_context)

    assert response == {"batchItemFailures": []}
    emails = sent_emails()
    assert sorted(email.destinations["ToAddresses"] for email in emails) == [
        ["ada@example.com"],
        ["alan@example.com"],
        ["grace@example.com"],
    ]
    for email in emails:
        ticket_id = next(
            json.loads(b)["ticketId"]
            for b in bodies()
            if json.loads(b)["buyer"]["email"] in email.destinations["ToAddresses"]
        )
        assert ticket_id in email.body
        assert email.source == "tickets@example.com"
        assert email.subject == "Your gig ticket is confirmed"


def test_a_poison_record_is_reported_and_the_others_are_emailed(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    good = bodies()

    response = app.lambda_handler(batch(good[0], "not json", good[1]), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert len(sent_emails()) == 2


def test_a_batch_where_every_record_fails_fails_the_invocation(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    # Powertools raises so that Lambda retries the batch; nothing in it was delivered.
    with pytest.raises(BatchProcessingError):
        app.lambda_handler(batch("{}", '{"ticketId": 1}'), lambda_context)

    assert sent_emails() == []


def test_a_message_delivered_twice_sends_one_email(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, logs: StringIO
) -> None:
    first = bodies()[0]

    app.lambda_handler(batch(first), lambda_context)
    response = app.lambda_handler(batch(first), lambda_context)

    assert response == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert "Confirmation already sent" in logs.getvalue()


def test_an_email_ses_refuses_is_parked_in_the_dlq_with_the_reason_and_not_retried(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")  # moto, like SES, rejects an unverified sender
    body = bodies()[0]

    response = app.lambda_handler(batch(body), lambda_context)

    assert response == {"batchItemFailures": []}
    (parked,) = receive_all(resources.refs["PurchaseDeadLetterQueue"])
    assert parked["Body"] == body
    assert parked["MessageAttributes"]["failureReason"]["StringValue"] == "MessageRejected"
    assert sent_emails() == []


class ThrottledFor:
    """SES, but throttling every send to `addresses` (as many times as the mailer tries)."""

    def __init__(self, *addresses: str) -> None:
        self._real = boto3.client("sesv2", region_name=REGION)
        self._addresses = set(addresses)

    def send_email(self, **request: Any) -> Any:
        if self._addresses & set(request["Destination"]["ToAddresses"]):
            error = {"Error": {"Code": "TooManyRequestsException"}, "ResponseMetadata": {"HTTPStatusCode": 429}}
            raise ClientError(error, "SendEmail")  # type: ignore[arg-type]
        return self._real.send_email(**request)


def test_an_email_still_throttled_after_its_tries_is_reported_failed_so_sqs_retries_it(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "SesMailer", lambda sender: SesMailer(sender, client=ThrottledFor("ada@example.com")))
    ada, grace = bodies()[0], bodies()[1]

    response = app.lambda_handler(batch(ada, grace), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [email.destinations["ToAddresses"] for email in sent_emails()] == [["grace@example.com"]]
    assert receive_all(resources.refs["PurchaseDeadLetterQueue"]) == []
    assert ticket_item(json.loads(ada)["ticketId"])["status"] == "RESERVED"


def test_a_retry_after_throttling_sends_the_email(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The failed attempt must not leave an "in progress" idempotency record that blocks the retry.
    clients = iter([ThrottledFor("ada@example.com"), boto3.client("sesv2", region_name=REGION)])
    monkeypatch.setattr(app, "SesMailer", lambda sender: SesMailer(sender, client=next(clients)))
    body = bodies()[0]

    with pytest.raises(BatchProcessingError):
        app.lambda_handler(batch(body), lambda_context)
    app._confirmations.cache_clear()  # a new instance picks up the redelivered message
    second = app.lambda_handler(batch(body), lambda_context)

    assert second == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert ticket_item(json.loads(body)["ticketId"])["status"] == "CONFIRMED"


def test_logs_name_the_ticket_and_never_the_buyer_s_address(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, logs: StringIO
) -> None:
    app.lambda_handler(batch(bodies()[0], "not json"), lambda_context)

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    (sent,) = [line for line in lines if line["message"] == "Confirmation sent"]
    assert sent["ticketId"] == "5b1e0000-0000-4000-8000-000000000001"
    assert sent["emailMessageId"] == ticket_item(sent["ticketId"])["emailMessageId"]  # SES's id, as the ledger has it
    assert any(line["message"] == "Not a ticket message" and line["messageId"] == "m-2" for line in lines)
    assert "ada@example.com" not in logs.getvalue()
    assert "Ada Lovelace" not in logs.getvalue()


def test_a_full_batch_is_sent_concurrently(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every send waits until all ten are in flight together: one at a time, the barrier would break.
    in_flight = threading.Barrier(10, timeout=10)

    class WaitForAll:
        def __init__(self, sender: str) -> None:
            pass

        def send(self, to: str, email: Email, deadline: Deadline) -> str:
            in_flight.wait()
            return f"sent to {to}"

    monkeypatch.setattr(app, "SesMailer", WaitForAll)
    template = json.loads(bodies()[0])
    tickets = [json.dumps({**template, "ticketId": str(uuid.uuid4())}) for _ in range(10)]
    reserve(*tickets)

    response = app.lambda_handler(batch(*tickets), lambda_context)

    assert response == {"batchItemFailures": []}
    assert not in_flight.broken
    assert in_flight.n_waiting == 0
    assert {ticket_item(json.loads(ticket)["ticketId"])["status"] for ticket in tickets} == {"CONFIRMED"}


# --- The ledger: only tickets it holds are emailed, and each outcome is recorded on the ticket -------------


def test_a_sent_confirmation_is_recorded_on_the_ticket_with_ses_s_message_id(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    app.lambda_handler(batch(sold[0]), lambda_context)

    (email,) = sent_emails()
    ticket = ticket_item(json.loads(sold[0])["ticketId"])
    assert (ticket["status"], ticket["emailMessageId"]) == ("CONFIRMED", email.id)
    assert "reconcileAfter" not in ticket  # out of the reconciler's index


def test_when_recording_a_sent_email_fails_the_redelivery_records_it_without_a_second_email(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    ticket_id = json.loads(sold[0])["ticketId"]

    with confirms_failing(lambda ticket, _: str(ticket) == ticket_id):  # every write for the first ticket
        first = app.lambda_handler(batch(sold[0], sold[1]), lambda_context)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}

    again = app.lambda_handler(batch(sold[0]), lambda_context)  # SQS delivers the failed record again

    assert again == {"batchItemFailures": []}
    assert len(sent_emails()) == 2  # one per ticket
    (email,) = [email for email in sent_emails() if ticket_id in email.body]
    assert (ticket_item(ticket_id)["status"], ticket_item(ticket_id)["emailMessageId"]) == ("CONFIRMED", email.id)


def test_when_recording_with_the_send_fails_it_is_recorded_after_it_in_the_same_delivery(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, logs: StringIO
) -> None:
    ticket_id = json.loads(sold[0])["ticketId"]

    with confirms_failing(lambda _, earlier: earlier == 0):  # the first write only
        outcome = app.lambda_handler(batch(sold[0]), lambda_context)

    assert outcome == {"batchItemFailures": []}
    (email,) = sent_emails()
    assert (ticket_item(ticket_id)["status"], ticket_item(ticket_id)["emailMessageId"]) == ("CONFIRMED", email.id)
    (warning,) = [json.loads(line) for line in logs.getvalue().splitlines() if "CONFIRMED not recorded" in line]
    assert warning["ticketId"] == ticket_id


def test_a_sent_confirmation_costs_one_ledger_write_to_record(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    with confirms_failing() as writes:
        app.lambda_handler(batch(sold[0]), lambda_context)  # sent
        app.lambda_handler(batch(sold[0]), lambda_context)  # delivered again: replayed

    assert len(writes) == 1  # a conditional write that fails is billed all the same (README, cost per ticket)
    assert ticket_item(json.loads(sold[0])["ticketId"])["status"] == "CONFIRMED"


def test_when_powertools_cannot_record_a_sent_email_the_redelivery_sends_no_second_email(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(self: DynamoDBPersistenceLayer, data_record: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    save_in_progress = DynamoDBPersistenceLayer.save_inprogress

    def expiring_at_once(self: DynamoDBPersistenceLayer, data: Any, remaining_time_in_millis: int | None) -> None:
        # Powertools' in-progress mark of the send expires when the invocation ends: here, already past.
        save_in_progress(self, data, remaining_time_in_millis=-1000)

    with monkeypatch.context() as patch:
        patch.setattr(DynamoDBPersistenceLayer, "_update_record", throttled)
        patch.setattr(DynamoDBPersistenceLayer, "save_inprogress", expiring_at_once)
        with pytest.raises(BatchProcessingError):
            app.lambda_handler(batch(sold[0]), lambda_context)

    again = app.lambda_handler(batch(sold[0]), lambda_context)  # SQS delivers it again

    assert again == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert ticket_item(json.loads(sold[0])["ticketId"])["status"] == "CONFIRMED"


def test_an_invocation_too_near_its_end_to_send_and_record_leaves_the_record_for_sqs_to_deliver_again(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    ticket_id = json.loads(sold[0])["ticketId"]
    ending = cast(LambdaContext, FakeLambdaContext(remaining_ms=int(SEND_SECONDS * 1000) - 1))

    with pytest.raises(BatchProcessingError, match="All records failed"):
        app.lambda_handler(batch(sold[0], sold[1]), ending)

    assert sent_emails() == []
    assert ticket_item(ticket_id)["status"] == "RESERVED"

    again = app.lambda_handler(batch(sold[0]), lambda_context)  # SQS delivers it again, to a fresh invocation

    assert again == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert ticket_item(ticket_id)["status"] == "CONFIRMED"


def test_a_replayed_confirmation_keeps_the_first_confirmation_time(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    ticket_id = json.loads(sold[0])["ticketId"]
    app.lambda_handler(batch(sold[0]), lambda_context)
    confirmed = ticket_item(ticket_id)

    app.lambda_handler(batch(sold[0]), lambda_context)

    assert ticket_item(ticket_id) == confirmed
    assert len(sent_emails()) == 1


def test_an_email_ses_refuses_leaves_the_ticket_parked_with_the_reason(
    resources: LocalResources,
    sold: list[str],
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    logs: StringIO,
) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")

    app.lambda_handler(batch(sold[0]), lambda_context)

    ticket = ticket_item(json.loads(sold[0])["ticketId"])
    assert (ticket["status"], ticket["parkedReason"]) == ("PARKED", "MessageRejected")
    assert "reconcileAfter" not in ticket
    (parked,) = [line for line in map(json.loads, logs.getvalue().splitlines()) if "parked" in line["message"]]
    assert (parked["ticketId"], parked["reason"]) == (ticket["id"], "MessageRejected")


def test_a_parked_ticket_redriven_after_the_fix_is_emailed_and_confirmed(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.com")
    app.lambda_handler(batch(sold[0]), lambda_context)
    (parked,) = receive_all(resources.refs["PurchaseDeadLetterQueue"])
    monkeypatch.setenv("SENDER_EMAIL", "tickets@example.com")  # the sender is verified now
    app._confirmations.cache_clear()

    response = app.lambda_handler(batch(parked["Body"]), lambda_context)  # the DLQ redriven

    assert response == {"batchItemFailures": []}
    assert len(sent_emails()) == 1
    assert ticket_item(json.loads(sold[0])["ticketId"])["status"] == "CONFIRMED"


def test_a_message_for_a_released_ticket_sends_nothing(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext, logs: StringIO
) -> None:
    ticket_id = json.loads(sold[0])["ticketId"]
    boto3.resource("dynamodb", region_name=REGION).Table(resources.refs["TicketsTable"]).update_item(
        Key={"id": ticket_id},
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": "RELEASED"},
    )

    response = app.lambda_handler(batch(sold[0]), lambda_context)

    assert response == {"batchItemFailures": []}
    assert sent_emails() == []
    assert ticket_item(ticket_id)["status"] == "RELEASED"
    assert "No email: the ledger holds no sold ticket with this id" in logs.getvalue()


def test_a_message_for_a_ticket_the_ledger_never_held_sends_nothing(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = app.lambda_handler(batch(bodies()[0]), lambda_context)  # never reserved

    assert response == {"batchItemFailures": []}
    assert sent_emails() == []
    assert ticket_item(json.loads(bodies()[0])["ticketId"]) == {}


def test_a_ticket_claimed_by_the_worker_can_no_longer_be_released(
    resources: LocalResources, sold: list[str], lambda_context: LambdaContext
) -> None:
    from purchase.adapters import TicketLedger
    from purchase.models import Ticket
    from purchase.settings import LedgerSettings

    message = json.loads(sold[0])
    app.lambda_handler(batch(sold[0]), lambda_context)
    ticket = Ticket(
        ticket_id=message["ticketId"],
        gig_id=message["gig"]["id"],
        buyer=message["buyer"],
        price="1",
        created_at=message["purchasedAt"],
    )

    released = TicketLedger(LedgerSettings.from_env()).release(ticket, None)

    assert released is False
    assert ticket_item(message["ticketId"])["status"] == "CONFIRMED"
