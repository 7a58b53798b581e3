"""POST /purchase: validate the order, sell the seat, queue its confirmation, answer 202 with the ticket id.

An `Idempotency-Key` header (the IETF httpapi draft, as Stripe uses it) makes a retried order safe: the same
key and order within 24 hours get the same 202 and ticket id, and no second seat or email.
"""

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from purchase.adapters import CLIENT_CONFIG, GigCatalogue, SqsTicketQueue, TicketLedger, invocation_deadline
from purchase.models import loggable, mask_email
from purchase.orders import (
    Deadline,
    GigNotFound,
    KeyClaim,
    KeyReused,
    ServiceUnavailable,
    SoldOut,
    place_order,
)
from purchase.request import PurchaseRequest, card_check_date
from purchase.settings import Settings

MAX_BODY_BYTES = 16 * 1024
ACCEPTED_MESSAGE = "Ticket reserved. The confirmation email is on its way."
IDEMPOTENCY_KEY = "Idempotency-Key"
# 1 to 255 printable ASCII characters (draft-ietf-httpapi-idempotency-key-header; Stripe's limit).
_IDEMPOTENCY_KEY_FORM = re.compile(r"[\x20-\x7e]{1,255}")
REMEMBER_ORDERS_FOR_SECONDS = 24 * 60 * 60
# Powertools' records are `purchase#<hash>` in IdempotencyTable: the template lets this function touch those only.
IDEMPOTENCY_RECORDS = "purchase"

# Metric names, one place to grep for them.
TICKETS_PURCHASED = "TicketsPurchased"
ORDERS_REPLAYED = "OrdersReplayed"
ORDERS_REJECTED = "OrdersRejected"
ORDERS_SOLD_OUT = "OrdersSoldOut"
ORDERS_NOT_TAKEN = "OrdersNotTaken"

logger = Logger()
metrics = Metrics()


class RequestRejected(Exception):
    """The request cannot be an order; `errors` names each offending field."""

    def __init__(self, status: HTTPStatus, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True)
class Shop:
    """Everything a purchase uses, built once per cold start."""

    place: Callable[[PurchaseRequest, KeyClaim | None, Deadline], dict[str, Any]]
    place_once: Callable[..., dict[str, Any]]  # the same, remembered under its Idempotency-Key
    idempotency: IdempotencyConfig


@cache
def _shop() -> Shop:
    settings = Settings.from_env()
    # One client per service, shared: each client costs milliseconds of every cold start to build, and
    # Powertools would otherwise build its own on a new boto3 session (about 60 ms more).
    dynamodb = boto3.client("dynamodb", config=CLIENT_CONFIG)
    catalogue = GigCatalogue(settings.gigs_table_name, client=dynamodb)
    ledger = TicketLedger(settings, client=dynamodb)
    queue = SqsTicketQueue(settings.queue_url)

    def place(order: PurchaseRequest, claim: KeyClaim | None, deadline: Deadline) -> dict[str, Any]:
        ticket = place_order(order, catalogue, ledger, queue, claim, deadline=deadline)
        return {"ticketId": str(ticket.ticket_id)}

    idempotency = IdempotencyConfig(
        event_key_jmespath="key",
        # The fingerprint holds no card data: Powertools stores a hash of it with the answer.
        payload_validation_jmespath="fingerprint",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=REMEMBER_ORDERS_FOR_SECONDS,
        response_hook=_mark_replayed,
    )
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb)

    def place_with_key(*, claim: KeyClaim, order: PurchaseRequest, deadline: Deadline) -> dict[str, Any]:
        return place(order, claim, deadline)

    # Called, not applied as a decorator: Powertools' decorator factory is not typed for mypy's strict mode.
    place_once = idempotent_function(
        data_keyword_argument="claim", config=idempotency, persistence_store=persistence, key_prefix=IDEMPOTENCY_RECORDS
    )(place_with_key)
    return Shop(place=place, place_once=place_once, idempotency=idempotency)


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    # Called only when the answer comes from the idempotency store: this order was placed before.
    return {**response, "replayed": True}


def answer(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The HTTP answer to one API Gateway (payload format 2.0) event; every error is mapped to its status here."""
    try:
        if event.get("routeKey") != "POST /purchase":
            return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
        return purchase(event, context)
    except RequestRejected as error:
        # Field names only: the values may be card data.
        logger.info("Order rejected", extra={"status": int(error.status), "fields": [e["field"] for e in error.errors]})
        metrics.add_metric(name=ORDERS_REJECTED, unit=MetricUnit.Count, value=1)
        return _json(error.status, {"message": error.message, **({"errors": error.errors} if error.errors else {})})
    except GigNotFound as error:
        logger.info("Order rejected: unknown gig", extra={"gigId": loggable(error.gig_id)})
        metrics.add_metric(name=ORDERS_REJECTED, unit=MetricUnit.Count, value=1)
        message = "No gig with this id"
        return _json(HTTPStatus.NOT_FOUND, {"message": message, "errors": [{"field": "gigId", "message": message}]})
    except SoldOut as error:
        logger.info("Order rejected: sold out", extra={"gigId": error.gig_id})
        metrics.add_metric(name=ORDERS_SOLD_OUT, unit=MetricUnit.Count, value=1)
        errors = [{"field": "gigId", "message": "Every ticket for this gig has been sold"}]
        return _json(HTTPStatus.CONFLICT, {"message": "Sold out", "errors": errors})
    except (KeyReused, IdempotencyValidationError):
        logger.info("Order rejected: Idempotency-Key reused for another order")
        metrics.add_metric(name=ORDERS_REJECTED, unit=MetricUnit.Count, value=1)
        message = "This key was already used for a different order; use a new key for a new order"
        errors = [{"field": IDEMPOTENCY_KEY, "message": message}]
        return _json(HTTPStatus.UNPROCESSABLE_ENTITY, {"message": f"{IDEMPOTENCY_KEY} reused", "errors": errors})
    except IdempotencyAlreadyInProgressError:
        logger.info("Order rejected: the same Idempotency-Key is still being processed")
        message = "An order with this key is still being processed; try again in a moment"
        errors = [{"field": IDEMPOTENCY_KEY, "message": message}]
        body = {"message": f"{IDEMPOTENCY_KEY} in use", "errors": errors}
        return _json(HTTPStatus.CONFLICT, body, headers={"Retry-After": "1"})
    except (ServiceUnavailable, IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError):
        logger.exception("Order not taken")
        metrics.add_metric(name=ORDERS_NOT_TAKEN, unit=MetricUnit.Count, value=1)
        message = "Tickets cannot be sold right now; nothing was charged. Please try again shortly."
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"message": message}, headers={"Retry-After": "5"})


def purchase(event: Mapping[str, Any], invocation: LambdaContext) -> dict[str, Any]:
    key = read_idempotency_key(event)
    order = read_order(event)
    shop = _shop()
    deadline = invocation_deadline(invocation)
    if key is None:
        placed = shop.place(order, None, deadline)
    else:
        placed = shop.place_once(claim=KeyClaim(key, order.fingerprint()), order=order, deadline=deadline)
    ticket_id = placed["ticketId"]
    log_keys = {"ticketId": ticket_id, "gigId": order.gig_id, "buyer": mask_email(order.email)}
    if placed.get("replayed"):
        logger.info("Order replayed for its Idempotency-Key", extra=log_keys)
        metrics.add_metric(name=ORDERS_REPLAYED, unit=MetricUnit.Count, value=1)
    else:
        logger.info("Ticket accepted", extra=log_keys)
        metrics.add_metric(name=TICKETS_PURCHASED, unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.ACCEPTED, {"ticketId": ticket_id, "message": ACCEPTED_MESSAGE})


def read_idempotency_key(event: Mapping[str, Any]) -> str | None:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    key: str | None = headers.get(IDEMPOTENCY_KEY.lower())
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY_FORM.fullmatch(key):
        message = "Must be 1 to 255 printable ASCII characters"
        errors = [{"field": IDEMPOTENCY_KEY, "message": message}]
        raise RequestRejected(HTTPStatus.BAD_REQUEST, f"The {IDEMPOTENCY_KEY} header is invalid", errors)
    return key


def read_order(event: Mapping[str, Any]) -> PurchaseRequest:
    """Turn the request body into an order, or raise `RequestRejected` saying what is wrong with it."""
    body = _body_bytes(event)
    if len(body) > MAX_BODY_BYTES:
        raise RequestRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The request body must be at most {MAX_BODY_BYTES // 1024} KiB"
        )
    try:
        data = json.loads(body, parse_int=_json_integer)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body is not valid JSON") from None
    except RecursionError:  # 16 KiB of `[` is deeper than any order
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body must be a JSON object")
    try:
        # One day for the whole order: the year's and the month's checks agree even at midnight.
        return PurchaseRequest.model_validate(data, context={"today": card_check_date()})
    except ValidationError as error:
        errors = [_field_error(detail["loc"], detail["msg"]) for detail in error.errors(include_input=False)]
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY, "Some fields are invalid", errors) from None


def _json_integer(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # over Python's limit of 4300 digits, yet still JSON: as infinity, which no field
        return -math.inf if digits.startswith("-") else math.inf  # accepts, so validation names the field


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        # surrogatepass: a lone surrogate in the text reaches validation, which names its field.
        return str(body).encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body is not valid base64") from None


def _field_error(location: tuple[int | str, ...], message: str) -> dict[str, str]:
    return {"field": ".".join(map(str, location)), "message": message[:1].upper() + message[1:]}


def _json(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        # An answer about one order, for its buyer only: no browser or proxy keeps it.
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Built first: a misconfigured deploy fails on its first request, whatever that request is.
    # The context lets an order that dies mid-way free its Idempotency-Key when the invocation would end.
    _shop().idempotency.register_lambda_context(context)
    return answer(event, context)
