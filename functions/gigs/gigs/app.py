"""GET /gigs and GET /gigs/{id}: the catalogue, read-only, with the seats left."""

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
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
app = APIGatewayHttpResolver()


@cache
def _catalogue() -> GigCatalogue:
    return GigCatalogue(Settings.from_env().gigs_table_name)


@app.get("/gigs")
def list_all() -> Response[list[dict[str, Any]]]:
    # A bare array: the shape fourTheorem's workshop frontend (and its public/mock/gigs.json) reads.
    gigs = [gig.model_dump(mode="json", by_alias=True) for gig in list_gigs(_catalogue())]
    return _json(HTTPStatus.OK, gigs, cacheable=True)


@app.get("/gigs/<gig_id>")
def get_one(gig_id: str) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.OK, get_gig(_catalogue(), gig_id).model_dump(mode="json", by_alias=True), cacheable=True)


@app.exception_handler(GigNotFound)
def _unknown_gig(_: GigNotFound) -> Response[dict[str, Any]]:
    metrics.add_metric(name=GIGS_NOT_FOUND, unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.NOT_FOUND, {"message": "No gig with this id"})


@app.exception_handler(CatalogueUnavailable)
def _catalogue_unavailable(_: CatalogueUnavailable) -> Response[dict[str, Any]]:
    logger.exception("Catalogue unavailable")
    metrics.add_metric(name=CATALOGUE_UNAVAILABLE, unit=MetricUnit.Count, value=1)
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE,
        {"message": "The gigs cannot be listed right now. Please try again shortly."},
        headers={"Retry-After": "5"},
    )


@app.not_found
def _no_route(_: Exception) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})


def _json[T](
    status: HTTPStatus, body: T, cacheable: bool = False, headers: dict[str, str] | None = None
) -> Response[T]:
    cache_control = CACHE_CONTROL if cacheable else "no-store"
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Cache-Control": cache_control, **(headers or {})},
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _catalogue()  # a misconfigured deploy fails on its first request, whatever that request is
    return app.resolve(event, context)
