"""Confirming a ticket: its email sent once, and the outcome recorded on the ticket in the ledger.

Only a ticket the ledger holds is emailed. The worker first claims the ticket (which also stops the purchase
from releasing it), then sends, then records CONFIRMED with SES's message id. A refusal SES will repeat
(EmailRejected) parks the message in the dead-letter queue and the ticket as PARKED; redriven later, the
same message sends the email then.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from worker.email_content import Email, render
from worker.models import TicketMessage

# SQS redelivers within minutes; a day of memory covers that with room to spare.
REMEMBER_SENT_FOR_SECONDS = 24 * 60 * 60
# Powertools' records are `worker#<hash>` in IdempotencyTable: the template lets the worker touch those only.
IDEMPOTENCY_RECORDS = "worker"

logger = Logger(child=True)


@dataclass(frozen=True)
class Deadline:
    """The time the invocation has left.

    A send cut off by the function's timeout may have gone out with nothing recorded, and go out again when
    SQS delivers the message again: an attempt to send starts only with time left to finish and be recorded.
    """

    seconds_left: Callable[[], float]

    def allows(self, seconds: float) -> bool:
        return self.seconds_left() >= seconds


NO_DEADLINE = Deadline(seconds_left=lambda: math.inf)


class OutOfTime(Exception):
    """Too little of the invocation was left to send the email and record it: it was not sent this time."""


class EmailRejected(Exception):
    """SES refused this email for good (e.g. a rejected address or an unverified sender)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"SES rejected the email: {code}")
        self.code = code


class Outcome(StrEnum):
    SENT = "Sent"
    ALREADY_SENT = "AlreadySent"
    PARKED = "Parked"
    NOT_SOLD = "NotSold"  # the ticket was released, or the ledger never held it: nothing is sent


@dataclass(frozen=True)
class Delivery:
    """How a ticket's confirmation ended, with what the logs need to follow it up."""

    outcome: Outcome
    email_message_id: str | None = None  # SES's message id, when this or an earlier delivery sent it
    refusal: str | None = None  # SES's error code, when it refused the email for good (PARKED)


class Status(StrEnum):
    """A ticket's statuses, as the ledger records them (the purchase records RESERVED and RELEASED)."""

    RESERVED = "RESERVED"
    CONFIRMED = "CONFIRMED"
    PARKED = "PARKED"
    RELEASED = "RELEASED"


class Claim(StrEnum):
    """What the worker found when it claimed a ticket to email it."""

    CLAIMED = "CLAIMED"  # RESERVED or PARKED: this worker now sends its email
    CONFIRMED = Status.CONFIRMED  # emailed before
    RELEASED = Status.RELEASED  # the purchase gave the seat back
    MISSING = "MISSING"  # the ledger never held it


class Mailer(Protocol):
    def send(self, to: str, email: Email, deadline: Deadline) -> str: ...


class DeadLetters(Protocol):
    def park(self, body: str, reason: str) -> None: ...


class Ledger(Protocol):
    def claim(self, ticket_id: UUID) -> Claim:
        """Mark the ticket as being emailed, if it is RESERVED or PARKED; return what was found."""

    def confirm(self, ticket_id: UUID, message_id: str) -> None:
        """Record the ticket CONFIRMED with SES's message id; a second call for it changes nothing."""

    def park(self, ticket_id: UUID, reason: str) -> None: ...


class Confirmations:
    """Sends each ticket's email at most once (keyed on the ticket id) and parks what SES refuses for good.

    Anything else (throttling, an SES or DynamoDB outage, too little time left) propagates, so the record fails
    and SQS delivers it again; after `maxReceiveCount` tries the queue's redrive policy moves it to the DLQ.
    """

    def __init__(
        self, mailer: Mailer, dead_letters: DeadLetters, ledger: Ledger, persistence: BasePersistenceLayer
    ) -> None:
        self._mailer = mailer
        self._dead_letters = dead_letters
        self._ledger = ledger
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="ticket_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=REMEMBER_SENT_FOR_SECONDS,
            response_hook=_mark_replayed,
        )
        self._send_once = idempotent_function(
            data_keyword_argument="ticket",
            persistence_store=persistence,
            config=self.idempotency,
            key_prefix=IDEMPOTENCY_RECORDS,
        )(self._send)

    def deliver(self, ticket: TicketMessage, body: str, deadline: Deadline = NO_DEADLINE) -> Delivery:
        try:
            result = self._send_once(ticket=ticket, deadline=deadline)
        except EmailRejected as rejected:
            self._dead_letters.park(body, reason=rejected.code)
            self._ledger.park(ticket.ticket_id, rejected.code)
            return Delivery(Outcome.PARKED, refusal=rejected.code)
        outcome = Outcome(result["outcome"])
        if outcome is Outcome.SENT and not result.get("confirmed"):
            # Not recorded with the send (or a result saved before it said so): recorded here, outside the
            # once-only send. If this write fails, the record fails, and its next delivery replays the sent
            # result (no second email) and records it then.
            self._ledger.confirm(ticket.ticket_id, result["messageId"])
        if result.get("replayed") and outcome is Outcome.SENT:
            outcome = Outcome.ALREADY_SENT
        return Delivery(outcome, email_message_id=result.get("messageId"))

    def _send(self, ticket: TicketMessage, deadline: Deadline) -> dict[str, Any]:
        claim = self._ledger.claim(ticket.ticket_id)
        if claim is Claim.CONFIRMED:
            return {"outcome": Outcome.ALREADY_SENT}
        if claim is not Claim.CLAIMED:
            return {"outcome": Outcome.NOT_SOLD}
        message_id = self._mailer.send(to=str(ticket.buyer.email), email=render(ticket), deadline=deadline)
        # Recorded at once: should Powertools then fail to save this result, the ticket's CONFIRMED stops the
        # next delivery from sending again. If this write fails, `deliver` records it (the result says so).
        try:
            self._ledger.confirm(ticket.ticket_id, message_id)
        except Exception:  # the email is out: whatever failed here, the send's result must still be saved
            logger.warning(
                "CONFIRMED not recorded with the send; tried again",
                exc_info=True,
                extra={"ticketId": str(ticket.ticket_id)},
            )
            return {"outcome": Outcome.SENT, "messageId": message_id, "confirmed": False}
        return {"outcome": Outcome.SENT, "messageId": message_id, "confirmed": True}


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    # Called only when the result comes from the idempotency store, i.e. this ticket was settled before.
    return {**response, "replayed": True}
