"""The AWS side of confirming a ticket: SES for the email, the ledger for its outcome, the DLQ for refusals."""

import random
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from worker.delivery import NO_DEADLINE, Claim, Deadline, EmailRejected, OutOfTime, Status
from worker.email_content import Email

# Ten sends run at once (a full batch), so the connection pool holds ten. DynamoDB and SQS answer in
# milliseconds: at its slowest a call fails its record well before the invocation's 30 s timeout would fail
# the whole batch.
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 1, 2, 3
CLIENT_CONFIG = Config(
    connect_timeout=_CONNECT_SECONDS,
    read_timeout=_READ_SECONDS,
    retries={"mode": "standard", "total_max_attempts": _ATTEMPTS},
    max_pool_connections=10,
)
# The longest one call can take with CLIENT_CONFIG: every attempt timing out, and the standard retry mode's
# backoff before each retry (at most 1, 2, 4... s).
CALL_SECONDS = _ATTEMPTS * (_CONNECT_SECONDS + _READ_SECONDS) + sum(2**retry for retry in range(_ATTEMPTS - 1))

# SES has no idempotency token: a send retried after its request reached SES (a read timeout, a 5xx, a
# connection dropped mid-answer) may be a second email. So botocore never retries a send; SesMailer retries
# only what SES certainly did not accept (throttling, no connection made), and anything else fails the
# record, to come back through the queue like an invocation that died.
_SES_CONNECT_SECONDS, _SES_READ_SECONDS = 3, 10
SES_CONFIG = Config(
    connect_timeout=_SES_CONNECT_SECONDS,
    read_timeout=_SES_READ_SECONDS,
    retries={"mode": "standard", "total_max_attempts": 1},
)
SEND_ATTEMPTS = 3
# An attempt starts only if it can end, and the ledger record the ticket CONFIRMED, before the invocation
# does: a send cut off by the timeout may have gone out with nothing recorded, and be sent again.
SEND_SECONDS = _SES_CONNECT_SECONDS + _SES_READ_SECONDS + CALL_SECONDS

# SES did not take the email, and may later: throttled, or over a sending limit for now.
_THROTTLED_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
)


class SesMailer:
    def __init__(self, sender: str, client: Any = None) -> None:
        self._sender = sender
        self._client = client or boto3.client("sesv2", config=SES_CONFIG)

    def send(self, to: str, email: Email, deadline: Deadline = NO_DEADLINE) -> str:
        """Send `email` to `to` and return SES's message id; raise `EmailRejected` if SES refuses it for good.

        Retried here only while SES certainly did not accept it; any other failure propagates. Raises
        `OutOfTime` rather than start an attempt that might outlast the invocation.
        """
        for attempt in range(1, SEND_ATTEMPTS + 1):
            if not deadline.allows(SEND_SECONDS):
                raise OutOfTime(f"a send and its record may take {SEND_SECONDS} s, more than the invocation has left")
            try:
                return self._send(to, email)
            except ClientError as error:
                if _is_permanent(error):
                    raise EmailRejected(error.response["Error"]["Code"]) from error
                if not _is_throttled(error) or attempt == SEND_ATTEMPTS:
                    raise
            except (EndpointConnectionError, ConnectTimeoutError):  # the request never reached SES
                if attempt == SEND_ATTEMPTS:
                    raise
            time.sleep(random.uniform(0, 0.1 * 2**attempt))  # noqa: S311 (jitter, not a secret)
        raise AssertionError("unreachable")

    def _send(self, to: str, email: Email) -> str:
        response = self._client.send_email(
            FromEmailAddress=self._sender,
            # The buyer's address travels only in the structured destination, never in a header we build.
            Destination={"ToAddresses": [to]},
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                }
            },
            EmailTags=[{"Name": name, "Value": value} for name, value in email.tags.items()],
        )
        message_id: str = response["MessageId"]
        return message_id


def _is_throttled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in _THROTTLED_CODES


def _is_permanent(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    return status < 500 and not _is_throttled(error)


class SqsDeadLetters:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs", config=CLIENT_CONFIG)

    def park(self, body: str, reason: str) -> None:
        """Keep the message, with why it could not be delivered, where it can be inspected and redriven."""
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={"failureReason": {"DataType": "String", "StringValue": reason}},
        )


class TicketLedger:
    """The worker's side of TicketsTable: claim a ticket before emailing it, then record the outcome."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    def claim(self, ticket_id: UUID) -> Claim:
        try:
            # `emailingSince` also tells the purchase it may no longer release the ticket.
            self._client.update_item(
                **self._key(ticket_id),
                UpdateExpression="SET emailingSince = if_not_exists(emailingSince, :now)",
                ConditionExpression="#status IN (:reserved, :parked)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":now": _now(),
                    ":reserved": {"S": Status.RESERVED},
                    ":parked": {"S": Status.PARKED},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            found: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
            return Claim(found["status"]["S"]) if found else Claim.MISSING
        return Claim.CLAIMED

    def confirm(self, ticket_id: UUID, message_id: str) -> None:
        try:
            self._client.update_item(
                **self._key(ticket_id),
                UpdateExpression="SET #status = :confirmed, emailMessageId = :message, confirmedAt = :now "
                "REMOVE reconcileAfter, parkedReason",
                # Once: a replayed send records nothing new (the first confirmedAt stands); never a ghost item.
                ConditionExpression="attribute_exists(id) AND #status <> :confirmed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":confirmed": {"S": Status.CONFIRMED},
                    ":message": {"S": message_id},
                    ":now": _now(),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def park(self, ticket_id: UUID, reason: str) -> None:
        try:
            self._client.update_item(
                **self._key(ticket_id),
                UpdateExpression="SET #status = :parked, parkedReason = :reason, parkedAt = :now REMOVE reconcileAfter",
                # Only the ticket this worker claimed: never one confirmed meanwhile, never a ghost item.
                ConditionExpression="#status IN (:reserved, :parked)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":parked": {"S": Status.PARKED},
                    ":reserved": {"S": Status.RESERVED},
                    ":reason": {"S": reason},
                    ":now": _now(),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _key(self, ticket_id: UUID) -> dict[str, Any]:
        return {"TableName": self._table_name, "Key": {"id": {"S": str(ticket_id)}}}


def _now() -> dict[str, str]:
    return {"S": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
