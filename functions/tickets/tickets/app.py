"""GET /tickets/{ticketId}: where a ticket is, from RESERVED to CONFIRMED (or PARKED, or RELEASED).

API Gateway has already routed the request (the event's `routeKey`); the handler dispatches on it rather
than importing Powertools' event handler, which would cost about 35 ms of every cold start for one route.
"""

import json
import warnings
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
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
# Metrics count failures only: a request that succeeds has none, which is no reason for a warning in the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@cache
def _ledger() -> TicketLedger:
    return TicketLedger(Settings.from_env().tickets_table_name)


def answer(event: Mapping[str, Any]) -> dict[str, Any]:
    """The HTTP answer to one API Gateway (payload format 2.0) event; every error is mapped here."""
    try:
        if event.get("routeKey") != "GET /tickets/{ticketId}":
            return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
        ticket = find_ticket(_ledger(), (event.get("pathParameters") or {}).get("ticketId", ""))
        logger.append_keys(ticketId=str(ticket.ticket_id))
        return _json(HTTPStatus.OK, ticket.to_json())
    except NotATicketId:
        message = "Not a ticket id: ticket ids are lowercase UUIDs like 0b8f4d0e-6f0c-4d59-9a43-0a0c3f7f2c1e"
        return _json(
            HTTPStatus.BAD_REQUEST, {"message": message, "errors": [{"field": "ticketId", "message": message}]}
        )
    except TicketNotFound:
        metrics.add_metric(name=TICKETS_NOT_FOUND, unit=MetricUnit.Count, value=1)
        return _json(HTTPStatus.NOT_FOUND, {"message": "No ticket with this id"})
    except LedgerUnavailable:
        logger.exception("Ticket ledger unavailable")
        metrics.add_metric(name=LEDGER_UNAVAILABLE, unit=MetricUnit.Count, value=1)
        message = "Tickets cannot be looked up right now. Please try again shortly."
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"message": message}, headers={"Retry-After": "5"})


def _json(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    # A ticket's status changes within seconds of the purchase: never cached.
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _ledger()  # a misconfigured deploy fails on its first request, whatever that request is
    return answer(event)
