"""POST /purchase: validate the order, queue its confirmation, answer 202 with the ticket id."""

import base64
import binascii
import json
import re
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from purchase.adapters import GigCatalogue, SqsTicketQueue
from purchase.models import PurchaseRequest
from purchase.orders import GigNotFound, ServiceUnavailable, place_order
from purchase.settings import Settings

MAX_BODY_BYTES = 16 * 1024
ACCEPTED_MESSAGE = "Ticket reserved. The confirmation email is on its way."
# Twelve or more digits, single spaces or dashes allowed between them: what a card number looks like.
_LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){11,}")

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()


class RequestRejected(Exception):
    """The request cannot be an order; `errors` names each offending field."""

    def __init__(self, status: HTTPStatus, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


@cache
def _adapters() -> tuple[GigCatalogue, SqsTicketQueue]:
    settings = Settings.from_env()
    return GigCatalogue(settings.gigs_table_name), SqsTicketQueue(settings.queue_url)


@app.post("/purchase")
def purchase() -> Response[dict[str, Any]]:
    order = read_order(app.current_event)
    ticket = place_order(order, *_adapters())
    ticket_id = str(ticket.ticket_id)
    logger.set_correlation_id(ticket_id)
    logger.info(
        "Ticket accepted", extra={"ticketId": ticket_id, "gigId": order.gig_id, "buyer": mask_email(order.email)}
    )
    metrics.add_metric(name="TicketsPurchased", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.ACCEPTED, {"ticketId": ticket_id, "message": ACCEPTED_MESSAGE})


def read_order(event: APIGatewayProxyEventV2) -> PurchaseRequest:
    """Turn the request body into an order, or raise `RequestRejected` saying what is wrong with it."""
    body = _body_bytes(event)
    if len(body) > MAX_BODY_BYTES:
        raise RequestRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The request body must be at most {MAX_BODY_BYTES // 1024} KiB"
        )
    try:
        data = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body is not valid JSON") from None
    except RecursionError:  # 16 KiB of `[` is deeper than any order
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body must be a JSON object")
    try:
        return PurchaseRequest.model_validate(data)
    except ValidationError as error:
        errors = [_field_error(detail["loc"], detail["msg"]) for detail in error.errors(include_input=False)]
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY, "Some fields are invalid", errors) from None


def _body_bytes(event: APIGatewayProxyEventV2) -> bytes:
    body = event.body or ""
    if not event.is_base64_encoded:
        # surrogatepass: a lone surrogate in the text reaches validation, which names its field.
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "The request body is not valid base64") from None


def _field_error(location: tuple[int | str, ...], message: str) -> dict[str, str]:
    return {"field": ".".join(map(str, location)), "message": message[:1].upper() + message[1:]}


def mask_email(address: str) -> str:
    """`ada@example.com` -> `a***@example.com`: enough to tell buyers apart in logs, not to mail them."""
    local, _, domain = address.rpartition("@")
    return loggable(f"{local[:1]}***@{domain}")


def loggable(typed: str) -> str:
    """Text the buyer typed, fit for a log line: a card number typed into the wrong field is blanked."""
    return _LONG_NUMBER.sub("<number>", typed)


@app.exception_handler(RequestRejected)
def _rejected(error: RequestRejected) -> Response[dict[str, Any]]:
    # Field names only: the values may be card data.
    logger.info("Order rejected", extra={"status": int(error.status), "fields": [e["field"] for e in error.errors]})
    metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
    body: dict[str, Any] = {"message": error.message}
    if error.errors:
        body["errors"] = error.errors
    return _json(error.status, body)


@app.exception_handler(GigNotFound)
def _unknown_gig(error: GigNotFound) -> Response[dict[str, Any]]:
    logger.info("Order rejected: unknown gig", extra={"gigId": loggable(error.gig_id)})
    metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
    message = "No gig with this id"
    return _json(HTTPStatus.NOT_FOUND, {"message": message, "errors": [{"field": "gigId", "message": message}]})


@app.exception_handler(ServiceUnavailable)
def _unavailable(error: ServiceUnavailable) -> Response[dict[str, Any]]:
    logger.exception("Order not taken")
    metrics.add_metric(name="OrdersNotTaken", unit=MetricUnit.Count, value=1)
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE,
        {"message": "Tickets cannot be sold right now; nothing was charged. Please try again shortly."},
        headers={"Retry-After": "5"},
    )


@app.not_found
def _no_route(_: Exception) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})


def _json(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _adapters()  # a misconfigured deploy fails on its first request, whatever that request is
    return app.resolve(event, context)
