"""GET /gigs and GET /gigs/{id} through the gigs handler, against the seeded table in moto."""

import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from gigs.app import lambda_handler
from tests.conftest import REGION, load_event
from tests.workshop import WORKSHOP_GIG
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
    assert response["headers"]["Cache-Control"] == "public, max-age=5"
    gigs = json.loads(response["body"])
    assert sorted(gigs, key=lambda gig: gig["id"]) == sorted(
        ({**gig, "ticketsLeft": gig["capacity"]} for gig in load_gigs()), key=lambda gig: gig["id"]
    )
    assert [gig["date"] for gig in gigs] == sorted(gig["date"] for gig in gigs)


def test_one_gig_is_returned_with_every_field(resources: LocalResources, lambda_context: LambdaContext) -> None:
    response = get_gig("nirvana-unplugged-new-york-1993", lambda_context)

    assert response["statusCode"] == 200
    gig = next(gig for gig in load_gigs() if gig["id"] == "nirvana-unplugged-new-york-1993")
    assert json.loads(response["body"]) == {**gig, "ticketsLeft": gig["capacity"]}


def test_an_unknown_gig_is_a_json_404_that_is_not_cached(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = get_gig("no-such-gig", lambda_context)

    assert (response["statusCode"], json.loads(response["body"])) == (404, {"message": "No gig with this id"})
    assert response["headers"]["Cache-Control"] == "no-store"


def test_a_malformed_catalogue_item_is_left_out_and_logged_and_the_rest_is_listed(
    resources: LocalResources, lambda_context: LambdaContext, logs: Any
) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(resources.refs["GigsTable"])
    broken = {**load_gigs()[0], "id": "broken-gig-2027", "date": '2027-05-05"><b>'}
    table.put_item(Item=broken)

    listed = lambda_handler(load_event("gigs-list.json"), lambda_context)
    one = get_gig("broken-gig-2027", lambda_context)

    assert listed["statusCode"] == 200
    assert {gig["id"] for gig in json.loads(listed["body"])} == {gig["id"] for gig in load_gigs()}
    assert one["statusCode"] == 404
    left_out = [
        line for line in logs.getvalue().splitlines() if "Gig left out: its catalogue item is malformed" in line
    ]
    assert len(left_out) == 2  # once by the list, once by the look-up
    assert all('"gigId":"broken-gig-2027"' in line for line in left_out)


def test_when_the_table_is_unreachable_the_answer_is_a_503(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=resources.refs["GigsTable"])

    response = lambda_handler(load_event("gigs-list.json"), lambda_context)

    assert response["statusCode"] == 503
    assert json.loads(response["body"])["message"].startswith("The gigs cannot be listed right now")


def test_the_list_is_a_bare_array_of_the_workshop_s_gigs_with_the_seats_left(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    gigs = json.loads(lambda_handler(load_event("gigs-list.json"), lambda_context)["body"])

    assert isinstance(gigs, list)
    assert gigs
    for gig in gigs:
        for field, kind in {**WORKSHOP_GIG, "ticketsLeft": int}.items():
            assert isinstance(gig[field], kind), (gig["id"], field)
            assert not isinstance(gig[field], bool)


def test_the_seats_left_follow_the_sold_count_and_never_go_below_zero(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(resources.refs["GigsTable"])
    table.update_item(
        Key={"id": "beatles-rooftop-london-1969"},
        UpdateExpression="SET sold = :n",
        ExpressionAttributeValues={":n": 58},
    )
    table.update_item(
        Key={"id": "queen-wembley-1986"}, UpdateExpression="SET sold = :n", ExpressionAttributeValues={":n": 80_000}
    )

    left = {
        gig["id"]: gig["ticketsLeft"]
        for gig in json.loads(lambda_handler(load_event("gigs-list.json"), lambda_context)["body"])
    }

    assert left["beatles-rooftop-london-1969"] == 2
    assert left["queen-wembley-1986"] == 0
    assert json.loads(get_gig("beatles-rooftop-london-1969", lambda_context)["body"])["ticketsLeft"] == 2
    assert "sold" not in json.loads(get_gig("beatles-rooftop-london-1969", lambda_context)["body"])


@pytest.mark.parametrize("gig_id", ["x" * 3000, "Queen Wembley", "queen.wembley", "%00"])
def test_an_id_no_gig_could_have_is_a_404_without_a_lookup(
    gig_id: str, resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = get_gig(gig_id, lambda_context)

    assert (response["statusCode"], json.loads(response["body"])) == (404, {"message": "No gig with this id"})


def test_a_route_this_function_does_not_serve_is_a_404(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    event = load_event("gigs-list.json")
    event["routeKey"] = event["requestContext"]["routeKey"] = "DELETE /gigs"

    response = lambda_handler(event, lambda_context)

    assert (response["statusCode"], json.loads(response["body"])) == (404, {"message": "Not Found"})


def test_a_misconfigured_deploy_fails_its_first_invocation_naming_the_variable(
    resources: LocalResources, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIGS_TABLE_NAME")

    with pytest.raises(ValueError, match="GIGS_TABLE_NAME"):
        lambda_handler(load_event("gigs-list.json"), lambda_context)
