"""GET /gigs and GET /gigs/{id} through the gigs handler, against the seeded table in moto."""

import json
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from gigs.app import lambda_handler
from tests.conftest import REGION, load_event
from tools.catalogue import load_gigs
from tools.provision import LocalResources


def get_gig(gig_id: str, context: LambdaContext) -> dict[str, Any]:
    event = load_event("gig-get.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/gigs/{gig_id}"
    event["pathParameters"] = {"id": gig_id}
    response: dict[str, Any] = lambda_handler(event, context)
    return response


def test_the_list_holds_the_whole_catalogue_soonest_first(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = lambda_handler(load_event("gigs-list.json"), lambda_context)

    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "public, max-age=60"
    gigs = json.loads(response["body"])["gigs"]
    assert sorted(gigs, key=lambda gig: gig["id"]) == sorted(load_gigs(), key=lambda gig: gig["id"])
    assert [gig["date"] for gig in gigs] == sorted(gig["date"] for gig in gigs)


def test_one_gig_is_returned_with_every_field(resources: LocalResources, lambda_context: LambdaContext) -> None:
    response = get_gig("nirvana-unplugged-new-york-1993", lambda_context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == next(
        gig for gig in load_gigs() if gig["id"] == "nirvana-unplugged-new-york-1993"
    )


def test_an_unknown_gig_is_a_json_404_that_is_not_cached(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = get_gig("no-such-gig", lambda_context)

    assert (response["statusCode"], json.loads(response["body"])) == (404, {"message": "No gig with this id"})
    assert response["headers"]["Cache-Control"] == "no-store"


def test_when_the_table_is_unreachable_the_answer_is_a_503(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=resources.refs["GigsTable"])

    response = lambda_handler(load_event("gigs-list.json"), lambda_context)

    assert response["statusCode"] == 503
    assert json.loads(response["body"])["message"].startswith("The gigs cannot be listed right now")
