"""Confirming a ticket: one email per ticket, however many times its message arrives."""

from enum import StrEnum
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from worker.adapters import EmailRejected
from worker.confirmation import Email, render
from worker.models import TicketMessage

# SQS redelivers within minutes; a day of memory covers that with room to spare.
REMEMBER_SENT_FOR_SECONDS = 24 * 60 * 60


class Outcome(StrEnum):
    SENT = "Sent"
    ALREADY_SENT = "AlreadySent"
    PARKED = "Parked"


class Mailer(Protocol):
    def send(self, to: str, email: Email) -> str: ...


class DeadLetters(Protocol):
    def park(self, body: str, reason: str) -> None: ...


class Confirmations:
    """Sends each ticket's email at most once (keyed on the ticket id) and parks what SES refuses for good.

    Anything else (throttling, an SES or DynamoDB outage) propagates, so the record fails and SQS
    delivers it again; after `maxReceiveCount` tries the queue's redrive policy moves it to the DLQ.
    """

    def __init__(self, mailer: Mailer, dead_letters: DeadLetters, persistence: BasePersistenceLayer) -> None:
        self._mailer = mailer
        self._dead_letters = dead_letters
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="ticket_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=REMEMBER_SENT_FOR_SECONDS,
            response_hook=_mark_replayed,
        )
        self._send_once = idempotent_function(
            data_keyword_argument="ticket", persistence_store=persistence, config=self.idempotency
        )(self._send)

    def deliver(self, ticket: TicketMessage, body: str) -> Outcome:
        try:
            result = self._send_once(ticket=ticket)
        except EmailRejected as rejected:
            self._dead_letters.park(body, reason=rejected.code)
            return Outcome.PARKED
        return Outcome.ALREADY_SENT if result.get("replayed") else Outcome.SENT

    def _send(self, ticket: TicketMessage) -> dict[str, Any]:
        return {"messageId": self._mailer.send(to=str(ticket.buyer.email), email=render(ticket))}


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    # Called only when the result comes from the idempotency store, i.e. the email went out before.
    return {**response, "replayed": True}
