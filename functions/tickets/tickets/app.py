"""GET /tickets/{ticketId}: where a ticket is, from RESERVED to CONFIRMED (or PARKED, or RELEASED)."""

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tickets.adapters import TicketLedger
from tickets.lookup import LedgerUnavailable, NotATicketId, TicketNotFound, find_ticket
from tickets.settings import Settings

# Metric names, one place to grep for them.
TICKETS_NOT_FOUND = "TicketsNotFound"
LEDGER_UNAVAILABLE = "LedgerUnavailable"

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()


@cache
def _ledger() -> TicketLedger:
    return TicketLedger(Settings.from_env().tickets_table_name)


@app.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str) -> Response[dict[str, Any]]:
    ticket = find_ticket(_ledger(), ticket_id)
    logger.append_keys(ticketId=str(ticket.ticket_id))
    return _json(HTTPStatus.OK, ticket.model_dump(mode="json", by_alias=True))


@app.exception_handler(NotATicketId)
def _not_a_ticket_id(_: NotATicketId) -> Response[dict[str, Any]]:
    message = "Not a ticket id: ticket ids are UUIDs like 0b8f4d0e-6f0c-4d59-9a43-0a0c3f7f2c1e"
    return _json(HTTPStatus.BAD_REQUEST, {"message": message, "errors": [{"field": "ticketId", "message": message}]})


@app.exception_handler(TicketNotFound)
def _unknown_ticket(_: TicketNotFound) -> Response[dict[str, Any]]:
    metrics.add_metric(name=TICKETS_NOT_FOUND, unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.NOT_FOUND, {"message": "No ticket with this id"})


@app.exception_handler(LedgerUnavailable)
def _unavailable(_: LedgerUnavailable) -> Response[dict[str, Any]]:
    logger.exception("Ticket ledger unavailable")
    metrics.add_metric(name=LEDGER_UNAVAILABLE, unit=MetricUnit.Count, value=1)
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE,
        {"message": "Tickets cannot be looked up right now. Please try again shortly."},
        headers={"Retry-After": "5"},
    )


@app.not_found
def _no_route(_: Exception) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})


def _json(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    # A ticket's status changes within seconds of the purchase: never cached.
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _ledger()  # a misconfigured deploy fails on its first request, whatever that request is
    return app.resolve(event, context)
