"""The AWS side of selling a ticket: the gigs table, the ticket ledger with its seats, and the purchase queue."""

import hashlib
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from purchase.models import Buyer, GigDetails, GigOnSale, Ticket, TicketMessage
from purchase.orders import (
    NO_DEADLINE,
    RELEASED,
    RESERVED,
    Deadline,
    GigNotFound,
    KeyClaim,
    KeyReused,
    LedgerEntry,
    OutcomeUnknown,
    ServiceUnavailable,
    SoldOut,
)
from purchase.settings import LedgerSettings

# The buyer is waiting on the other end: fail in seconds, not after botocore's default minute. DynamoDB and
# SQS answer in milliseconds; a second without an answer is a fault, tried once more.
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 1, 1, 2
CLIENT_CONFIG = Config(
    connect_timeout=_CONNECT_SECONDS,
    read_timeout=_READ_SECONDS,
    retries={"mode": "standard", "total_max_attempts": _ATTEMPTS},
)
# The longest one call can take with CLIENT_CONFIG: every attempt timing out, and the standard retry mode's
# backoff before each retry (at most 1, 2, 4... s; botocore's opt-in AWS_NEW_RETRIES_2026 mode may also wait
# for a service's x-amz-retry-after, which this does not count). The purchase's Deadline counts in these.
CALL_SECONDS = _ATTEMPTS * (_CONNECT_SECONDS + _READ_SECONDS) + sum(2**retry for retry in range(_ATTEMPTS - 1))


def invocation_deadline(context: LambdaContext) -> Deadline:
    """The time this invocation has left, counted in calls made with CLIENT_CONFIG."""
    return Deadline(lambda: context.get_remaining_time_in_millis() / 1000, CALL_SECONDS)


_GIG_FIELDS = ["id", "bandName", "venue", "city", "#date", "collectionPoint", "collectionTime", "price", "#capacity"]
_deserialize = TypeDeserializer().deserialize
logger = Logger(child=True)


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 (jitter, not a secret)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserialize(value) for key, value in item.items()}


class GigCatalogue:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    def find(self, gig_id: str) -> GigOnSale | None:
        try:
            response = self._client.get_item(
                TableName=self._table_name,
                Key={"id": {"S": gig_id}},
                ProjectionExpression=", ".join([*_GIG_FIELDS, "sold"]),
                ExpressionAttributeNames={"#date": "date", "#capacity": "capacity"},  # reserved words
            )
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("gig catalogue unavailable") from error
        item = response.get("Item")
        return None if item is None else _gig_on_sale(item)


def _gig_on_sale(item: dict[str, Any]) -> GigOnSale | None:
    """The gig, or None for an item that is not one, as GET /gigs reads the catalogue: a number where text
    belongs is text, and a malformed item is no gig (logged), not a crash."""
    gig = _plain(item)
    try:
        return GigOnSale(
            details=GigDetails.model_validate(gig),
            price=str(gig["price"]),
            capacity=int(gig["capacity"]),
            sold=int(gig.get("sold", 0)),
        )
    except (KeyError, TypeError, ValueError) as error:  # pydantic's ValidationError is a ValueError
        gig_id = str(gig.get("id", ""))[:100]
        logger.error("Gig not on sale: its catalogue item is malformed", extra={"gigId": gig_id, "error": repr(error)})
        return None


class TicketLedger:
    """TicketsTable, one item per ticket, and the seat counts in GigsTable.

    A gig's seats are one counter on its catalogue item (`sold`, never above `capacity`). Taking a seat and
    recording the ticket is one DynamoDB transaction, so under any concurrency a gig sells exactly its
    capacity. That counter is one item: DynamoDB takes about 1,000 writes a second on it, 500 inside
    transactions. Spreading a gig's seats over several counters changes `_take_seat` and `_give_back_seat`
    here, and nothing else in the purchase.

    An Idempotency-Key is an item of its own (`idempotency-key#<sha256>`), written in the same transaction:
    a retry of an order whose first attempt died after taking the seat finds it, and gets that ticket back
    instead of a second seat.
    """

    KEY_PREFIX = "idempotency-key#"
    # Tickets normally settle within seconds; the reconciler waits this long before queueing one again.
    # After that it backs off (doubling, up to MAX_BACKOFF) so a ticket SES keeps refusing costs little.
    MAX_BACKOFF = timedelta(hours=6)
    MAX_DOUBLINGS = 20  # 2**20 grace periods: past MAX_BACKOFF for any grace of a second or more
    KEY_LIFETIME = timedelta(hours=24)
    # Transactions on one gig's counter collide under load (TransactionConflict), and botocore's retry of one
    # whose answer was lost may find it still running (TransactionInProgressException): try again, briefly.
    TRANSACTION_ATTEMPTS = 4

    def __init__(self, settings: LedgerSettings, client: Any = None) -> None:
        self._tickets = settings.tickets_table_name
        self._gigs = settings.gigs_table_name
        self._grace = settings.grace
        self._retention = settings.retention_after_show
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    # --- The purchase ------------------------------------------------------------------------------------

    def reserve(
        self, ticket: Ticket, gig: GigOnSale, claim: KeyClaim | None, deadline: Deadline = NO_DEADLINE
    ) -> Ticket:
        items = [self._take_seat(gig.details.id), self._record(ticket, gig)]
        if claim:
            items.append(self._claim_key(claim, ticket))
        reasons = self._transact(items, deadline)
        if reasons is None:
            return ticket
        seat, _, *key = reasons
        if key and key[0].get("Code") == "ConditionalCheckFailed":
            return self._earlier_ticket(key[0]["Item"], claim, ticket)
        if seat.get("Code") == "ConditionalCheckFailed":
            raise SoldOut(gig.details.id) if "Item" in seat else GigNotFound(gig.details.id)
        raise ServiceUnavailable(f"ticket not recorded: {[reason.get('Code') for reason in reasons]}")

    def release(self, ticket: Ticket, claim: KeyClaim | None, deadline: Deadline = NO_DEADLINE) -> bool:
        items = [self._give_back_seat(ticket.gig_id), self._mark_released(ticket.ticket_id)]
        if claim:
            items.append(self._free_key(claim, ticket.ticket_id))
        reasons = self._transact(items, deadline)
        if reasons is None:
            return True
        if reasons[1].get("Code") == "ConditionalCheckFailed":
            return False  # no longer RESERVED, or the worker has started emailing it
        raise ServiceUnavailable(f"seat not released: {[reason.get('Code') for reason in reasons]}")

    def holds(self, claim: KeyClaim) -> bool:
        try:
            response = self._client.get_item(
                TableName=self._tickets,
                Key={"id": {"S": self._key_id(claim)}},
                ProjectionExpression="expiresAt, released",
                ConsistentRead=True,  # the first attempt may have written it a moment ago
            )
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("ticket ledger unavailable") from error
        key = _plain(response.get("Item", {}))
        # The same rule as `_claim_key`'s condition, the other way round.
        return bool(key) and key["expiresAt"] >= int(_utc_now().timestamp()) and not key.get("released")

    def _take_seat(self, gig_id: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._gigs,
                "Key": {"id": {"S": gig_id}},
                "UpdateExpression": "SET sold = if_not_exists(sold, :zero) + :one",
                "ConditionExpression": "attribute_exists(id) AND (attribute_not_exists(sold) OR sold < #capacity)",
                "ExpressionAttributeNames": {"#capacity": "capacity"},
                "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}},
                # Tells a missing gig (no item) from a sold-out one.
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _give_back_seat(self, gig_id: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._gigs,
                "Key": {"id": {"S": gig_id}},
                "UpdateExpression": "SET sold = sold - :one",
                "ConditionExpression": "sold >= :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }

    def _record(self, ticket: Ticket, gig: GigOnSale) -> dict[str, Any]:
        show = datetime.combine(gig.details.date, datetime.min.time(), tzinfo=ticket.created_at.tzinfo)
        item = {
            "id": {"S": str(ticket.ticket_id)},
            "gigId": {"S": ticket.gig_id},
            "buyerName": {"S": ticket.buyer.name},
            "buyerEmail": {"S": ticket.buyer.email},
            # All that GET /tickets/{id} may read of the buyer (its IAM policy names the attributes).
            "maskedEmail": {"S": ticket.buyer.masked_email},
            "price": {"S": ticket.price},
            "createdAt": {"S": _timestamp(ticket.created_at)},
            "status": {"S": RESERVED},
            # While RESERVED, the ticket is in the sparse UnsettledTickets index under this time.
            "reconcileAfter": {"S": _timestamp(ticket.created_at + self._grace)},
            # The buyer's personal data goes some days after the show (the table's TTL attribute).
            "expiresAt": {"N": str(int((max(show, ticket.created_at) + self._retention).timestamp()))},
        }
        return {"Put": {"TableName": self._tickets, "Item": item, "ConditionExpression": "attribute_not_exists(id)"}}

    def _mark_released(self, ticket_id: UUID) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._tickets,
                "Key": {"id": {"S": str(ticket_id)}},
                "UpdateExpression": "SET #status = :released, releasedAt = :now REMOVE reconcileAfter",
                "ConditionExpression": "#status = :reserved AND attribute_not_exists(emailingSince)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":released": {"S": RELEASED},
                    ":reserved": {"S": RESERVED},
                    ":now": {"S": _timestamp(_utc_now())},
                },
            }
        }

    def _claim_key(self, claim: KeyClaim, ticket: Ticket) -> dict[str, Any]:
        now = ticket.created_at
        return {
            "Put": {
                "TableName": self._tickets,
                "Item": {
                    "id": {"S": self._key_id(claim)},
                    "ticketId": {"S": str(ticket.ticket_id)},
                    "createdAt": {"S": _timestamp(now)},
                    "fingerprint": {"S": claim.fingerprint},
                    "expiresAt": {"N": str(int((now + self.KEY_LIFETIME).timestamp()))},
                },
                # A key is free if never used, expired (TTL deletes lazily), or released with its ticket.
                "ConditionExpression": "attribute_not_exists(id) OR expiresAt < :now OR released = :yes",
                "ExpressionAttributeValues": {":now": {"N": str(int(now.timestamp()))}, ":yes": {"BOOL": True}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _free_key(self, claim: KeyClaim, ticket_id: UUID) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._tickets,
                "Key": {"id": {"S": self._key_id(claim)}},
                "UpdateExpression": "SET released = :yes",
                "ConditionExpression": "ticketId = :ticket",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}, ":ticket": {"S": str(ticket_id)}},
            }
        }

    def _earlier_ticket(self, raw: dict[str, Any], claim: KeyClaim | None, proposed: Ticket) -> Ticket:
        earlier = _plain(raw)
        if claim is None or earlier["fingerprint"] != claim.fingerprint:
            raise KeyReused
        # Same fingerprint: same gig and buyer as this order.
        return proposed.model_copy(
            update={"ticket_id": UUID(earlier["ticketId"]), "created_at": datetime.fromisoformat(earlier["createdAt"])}
        )

    def _key_id(self, claim: KeyClaim) -> str:
        return self.KEY_PREFIX + hashlib.sha256(claim.key.encode()).hexdigest()

    def _transact(self, items: list[dict[str, Any]], deadline: Deadline) -> list[dict[str, Any]] | None:
        """Run the transaction; None if it committed, else why each item was refused (it was cancelled).

        Raises OutcomeUnknown when DynamoDB did not say either. Tried again only while `deadline` allows one
        more call: the caller has counted on one.
        """
        # DynamoDB answers a repeat of a committed transaction's ClientRequestToken as done, without applying it
        # again. botocore keeps a call's token for its own retries; this one is also kept across the calls below
        # that repeat the same transaction, so a retry of one that did commit never takes a second seat.
        token = str(uuid4())
        seen_in_progress = False  # the transaction under `token` may commit whatever a later attempt hears
        for attempt in range(1, self.TRANSACTION_ATTEMPTS + 1):
            try:
                self._client.transact_write_items(TransactItems=items, ClientRequestToken=token)
            except ClientError as error:
                code = error.response["Error"]["Code"]
                reasons = cast(list[dict[str, Any]] | None, error.response.get("CancellationReasons"))
                # Still in progress, it may yet commit: the same transaction again learns how it ended.
                in_progress = code == "TransactionInProgressException"
                seen_in_progress = seen_in_progress or in_progress
                conflict = any(reason.get("Code") == "TransactionConflict" for reason in reasons or [])
                if (in_progress or conflict) and attempt < self.TRANSACTION_ATTEMPTS:
                    _backoff(attempt)
                    if deadline.allows(calls=1):  # checked after the wait, which the deadline also counts
                        if conflict:
                            token = str(uuid4())  # that one was cancelled: the next is a new transaction
                            seen_in_progress = False
                        continue
                if reasons:
                    return reasons
                if in_progress:
                    # It commits or is cancelled on its own, and a release now would only conflict with it. If it
                    # commits, the ticket stays RESERVED and the reconciler queues its confirmation.
                    raise ServiceUnavailable("ticket ledger: transaction still in progress") from error
                # Refused outright on botocore's only attempt (throttled, say): nothing was written. After a retry,
                # the answer to an earlier attempt may have been lost (and one found in progress may have committed
                # since); DynamoDB's 500 may come after a commit.
                retried = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
                if retried or seen_in_progress or code == "InternalServerError":
                    raise OutcomeUnknown(f"ticket ledger: {code}") from error
                raise ServiceUnavailable(f"ticket ledger: {code}") from error
            except BotoCoreError as error:  # a timeout, on this attempt or botocore's earlier one: sent or not
                raise OutcomeUnknown("ticket ledger unavailable") from error
            else:
                return None
        raise AssertionError("unreachable")

    # --- The reconciler ----------------------------------------------------------------------------------

    INDEX = "UnsettledTickets"

    def unconfirmed(self, now: datetime) -> Iterator[UUID]:
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._tickets,
            IndexName=self.INDEX,
            FilterExpression="reconcileAfter <= :now",
            ExpressionAttributeValues={":now": {"S": _timestamp(now)}},
        )
        try:
            for page in pages:
                for item in page["Items"]:
                    yield UUID(item["id"]["S"])
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("UnsettledTickets index unreadable") from error

    def find(self, ticket_id: UUID) -> LedgerEntry | None:
        try:
            item = self._client.get_item(
                TableName=self._tickets, Key={"id": {"S": str(ticket_id)}}, ConsistentRead=True
            )
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("ticket ledger unavailable") from error
        if "Item" not in item:
            return None
        found = _plain(item["Item"])
        ticket = Ticket(
            ticket_id=UUID(found["id"]),
            gig_id=found["gigId"],
            buyer=Buyer(name=found["buyerName"], email=found["buyerEmail"]),
            price=found["price"],
            created_at=datetime.fromisoformat(found["createdAt"]),
        )
        return LedgerEntry(ticket, str(found["status"]), int(found.get("requeues", 0)))

    def postpone(self, entry: LedgerEntry, now: datetime) -> bool:
        # Twice as long as the wait before: 2, 4, 8... grace periods, up to MAX_BACKOFF. The exponent stops
        # there too: a ticket stuck for days would otherwise overflow timedelta.
        backoff = min(self._grace * 2 ** min(entry.requeues + 1, self.MAX_DOUBLINGS), self.MAX_BACKOFF)
        try:
            self._client.update_item(
                TableName=self._tickets,
                Key={"id": {"S": str(entry.ticket.ticket_id)}},
                UpdateExpression="SET reconcileAfter = :next, requeues = :count",
                # Optimistic: if another run got here first, requeues moved on and this one leaves it.
                ConditionExpression="#status = :reserved AND (attribute_not_exists(requeues) OR requeues = :seen)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":next": {"S": _timestamp(now + backoff)},
                    ":count": {"N": str(entry.requeues + 1)},
                    ":seen": {"N": str(entry.requeues)},
                    ":reserved": {"S": RESERVED},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise ServiceUnavailable("ticket ledger unavailable") from error
        except BotoCoreError as error:
            raise ServiceUnavailable("ticket ledger unavailable") from error
        return True


class SqsTicketQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs", config=CLIENT_CONFIG)

    def send(self, message: TicketMessage) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=message.model_dump_json(by_alias=True))
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("purchase queue unavailable") from error


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: sorts as text, which is what the index's range key does."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)
