"""GET /gigs and GET /gigs/{id}: the catalogue, read-only."""

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from gigs.catalogue import GigCatalogue
from gigs.settings import Settings

# The catalogue changes when someone reseeds it, not per request: let browsers and CDNs reuse answers.
CACHE_CONTROL = "public, max-age=60"

logger = Logger()
app = APIGatewayHttpResolver()


@cache
def _catalogue() -> GigCatalogue:
    return GigCatalogue(Settings.from_env().gigs_table_name)


@app.get("/gigs")
def list_gigs() -> Response[dict[str, Any]]:
    gigs = [gig.model_dump(mode="json", by_alias=True) for gig in _catalogue().all_gigs()]
    return _json(HTTPStatus.OK, {"gigs": gigs}, cacheable=True)


@app.get("/gigs/<gig_id>")
def get_gig(gig_id: str) -> Response[dict[str, Any]]:
    gig = _catalogue().find(gig_id)
    if gig is None:
        return _json(HTTPStatus.NOT_FOUND, {"message": "No gig with this id"})
    return _json(HTTPStatus.OK, gig.model_dump(mode="json", by_alias=True), cacheable=True)


@app.exception_handler([BotoCoreError, ClientError])
def _catalogue_unavailable(_: Exception) -> Response[dict[str, Any]]:
    logger.exception("Catalogue unavailable")
    return _json(
        HTTPStatus.SERVICE_UNAVAILABLE, {"message": "The gigs cannot be listed right now. Please try again shortly."}
    )


@app.not_found
def _no_route(_: Exception) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})


def _json(status: HTTPStatus, body: dict[str, Any], cacheable: bool = False) -> Response[dict[str, Any]]:
    headers = {"Cache-Control": CACHE_CONTROL} if cacheable else {"Cache-Control": "no-store"}
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _catalogue()  # a misconfigured deploy fails on its first request, whatever that request is
    return app.resolve(event, context)
