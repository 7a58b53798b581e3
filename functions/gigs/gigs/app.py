"""GET /gigs and GET /gigs/{id}: the catalogue, read-only, with the seats left.

API Gateway has already routed the request (the event's `routeKey` names the route the template declares),
so the handler dispatches on it rather than importing a router: Powertools' event handler would add about
35 ms to every cold start (its package imports asyncio and every event data class) to route two requests.
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

from gigs.catalogue import GigCatalogue
from gigs.listing import CatalogueUnavailable, GigNotFound, get_gig, list_gigs
from gigs.settings import Settings

# Browsers and CDNs may reuse an answer briefly: `ticketsLeft` is allowed to be a few seconds stale, the
# purchase is the authority on seats.
CACHE_CONTROL = "public, max-age=5"

# Metric names, one place to grep for them.
GIGS_NOT_FOUND = "GigsNotFound"
CATALOGUE_UNAVAILABLE = "CatalogueUnavailable"

logger = Logger()
metrics = Metrics()
# Metrics count failures only: a request that succeeds has none, which is no reason for a warning in the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@cache
def _catalogue() -> GigCatalogue:
    return GigCatalogue(Settings.from_env().gigs_table_name)


def answer(event: Mapping[str, Any]) -> dict[str, Any]:
    """The HTTP answer to one API Gateway (payload format 2.0) event; every error is mapped here."""
    try:
        match event.get("routeKey"):
            case "GET /gigs":
                # A bare array: the shape fourTheorem's workshop frontend (and its public/mock/gigs.json) reads.
                gigs = [gig.to_json() for gig in list_gigs(_catalogue())]
                return _json(HTTPStatus.OK, gigs, cacheable=True)
            case "GET /gigs/{id}":
                gig = get_gig(_catalogue(), (event.get("pathParameters") or {}).get("id", ""))
                return _json(HTTPStatus.OK, gig.to_json(), cacheable=True)
            case _:
                return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
    except GigNotFound:
        metrics.add_metric(name=GIGS_NOT_FOUND, unit=MetricUnit.Count, value=1)
        return _json(HTTPStatus.NOT_FOUND, {"message": "No gig with this id"})
    except CatalogueUnavailable:
        logger.exception("Catalogue unavailable")
        metrics.add_metric(name=CATALOGUE_UNAVAILABLE, unit=MetricUnit.Count, value=1)
        message = "The gigs cannot be listed right now. Please try again shortly."
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"message": message}, headers={"Retry-After": "5"})


def _json(
    status: HTTPStatus, body: Any, cacheable: bool = False, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": CACHE_CONTROL if cacheable else "no-store",
            **(headers or {}),
        },
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _catalogue()  # a misconfigured deploy fails on its first request, whatever that request is
    return answer(event)
