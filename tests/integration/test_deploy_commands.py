"""`make seed` and `make publish-frontend` against a stack whose outputs say where things are (moto)."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import REGION
from tools import stack
from tools.catalogue import load_gigs
from tools.publish_frontend import SETTINGS_KEY, publish_stack, site_files
from tools.seed import seed_stack

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/"


def deploy_stack(outputs: dict[str, str]) -> None:
    """A stand-in stack with the real stack's output names (CloudFormation needs one resource)."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="ticket-shop", TemplateBody=json.dumps(template)
    )


@pytest.fixture
def session(aws: None) -> boto3.Session:
    return boto3.Session(region_name=REGION)


@pytest.fixture
def gigs_stack(session: boto3.Session) -> Any:
    session.client("dynamodb").create_table(
        TableName="ticket-shop-GigsTable-1",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    deploy_stack({"GigsTableName": "ticket-shop-GigsTable-1"})
    return session.resource("dynamodb").Table("ticket-shop-GigsTable-1")


def test_seeding_fills_the_stack_s_table_and_seeding_again_changes_nothing(
    session: boto3.Session, gigs_stack: Any
) -> None:
    first = seed_stack(session, "ticket-shop")
    second = seed_stack(session, "ticket-shop")

    items = session.resource("dynamodb").Table("ticket-shop-GigsTable-1").scan()["Items"]
    assert first == second == f"Seeded {len(load_gigs())} gigs into ticket-shop-GigsTable-1"
    assert sorted(item["id"] for item in items) == sorted(gig["id"] for gig in load_gigs())
    queen: dict[str, Any] = next(item for item in items if item["id"] == "queen-wembley-1986")
    assert int(queen["capacity"]) == next(gig["capacity"] for gig in load_gigs() if gig["id"] == "queen-wembley-1986")
    assert {int(item["sold"]) for item in items} == {0}


def test_reseeding_a_live_stack_keeps_the_seats_it_has_sold_and_updates_the_rest(
    session: boto3.Session, gigs_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_stack(session, "ticket-shop")
    gigs_stack.update_item(
        Key={"id": "beatles-rooftop-london-1969"},
        UpdateExpression="SET sold = :n",
        ExpressionAttributeValues={":n": 42},
    )
    edited = [
        {**gig, "description": "Now with a better description."} if gig["id"] == "beatles-rooftop-london-1969" else gig
        for gig in load_gigs()
    ]
    monkeypatch.setattr("tools.seed.load_gigs", lambda: edited)

    seed_stack(session, "ticket-shop")

    rooftop = gigs_stack.get_item(Key={"id": "beatles-rooftop-london-1969"})["Item"]
    assert int(rooftop["sold"]) == 42
    assert rooftop["description"] == "Now with a better description."
    assert int(rooftop["capacity"]) == 60


@pytest.fixture
def frontend_stack(session: boto3.Session) -> str:
    session.client("s3").create_bucket(Bucket="ticket-shop-frontend")
    session.client("s3").put_object(Bucket="ticket-shop-frontend", Key="old-page.html", Body=b"gone")
    distribution = session.client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": "test",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "s3",
                        "DomainName": "ticket-shop-frontend.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "https-only", "MinTTL": 0},
        }
    )["Distribution"]
    deploy_stack(
        {
            "ApiUrl": API_URL,
            "FrontendUrl": f"https://{distribution['DomainName']}/",
            "FrontendBucketName": "ticket-shop-frontend",
            "FrontendDistributionId": distribution["Id"],
        }
    )
    return str(distribution["Id"])


def test_publishing_uploads_the_site_with_settings_for_the_stack_s_api_and_drops_stale_files(
    session: boto3.Session, frontend_stack: str
) -> None:
    message = publish_stack(session, "ticket-shop")

    s3 = session.client("s3")
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="ticket-shop-frontend")["Contents"]}
    assert keys == set(site_files()) | {SETTINGS_KEY}
    assert "index.html" in keys
    assert "README.md" not in keys
    assert "old-page.html" not in keys
    settings = s3.get_object(Bucket="ticket-shop-frontend", Key=SETTINGS_KEY)
    assert json.loads(settings["Body"].read()) == {"apiBaseUrl": API_URL}
    assert message.startswith(f"Published {len(keys)} files")


def test_published_files_carry_the_types_browsers_need(session: boto3.Session, frontend_stack: str) -> None:
    publish_stack(session, "ticket-shop")

    s3 = session.client("s3")
    types = {
        key: s3.head_object(Bucket="ticket-shop-frontend", Key=key)["ContentType"]
        for key in ("index.html", "js/api.js", "css/styles.css", "favicon.svg")
    }
    assert types == {
        "index.html": "text/html",
        "js/api.js": "text/javascript",
        "css/styles.css": "text/css",
        "favicon.svg": "image/svg+xml",
    }
    assert s3.head_object(Bucket="ticket-shop-frontend", Key="index.html")["CacheControl"] == "no-cache"


def test_publishing_invalidates_the_whole_distribution(session: boto3.Session, frontend_stack: str) -> None:
    publish_stack(session, "ticket-shop")

    cloudfront = session.client("cloudfront")
    (summary,) = cloudfront.list_invalidations(DistributionId=frontend_stack)["InvalidationList"]["Items"]
    invalidation = cloudfront.get_invalidation(DistributionId=frontend_stack, Id=summary["Id"])["Invalidation"]
    assert invalidation["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


# --- Which stack, where: samconfig.toml's unless told ----------------------------------------------------------


def test_the_stack_defaults_to_samconfig_s_and_options_override_it() -> None:
    _, default = stack.session_from_args("seed", [])
    session, named = stack.session_from_args("seed", ["--stack-name", "other", "--region", "eu-west-1"])

    assert default == stack.deployed_with()["stack_name"] == "ticket-shop"
    assert (named, session.region_name) == ("other", "eu-west-1")


def test_a_config_file_of_one_s_own_names_the_stack_as_sam_deploy_reads_it(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.local.toml"
    config.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "my-shop"\n'
        '[default.deploy.parameters]\nregion = "eu-west-2"\n'
    )

    session, named = stack.session_from_args("seed", ["--config-file", str(config)])

    assert (named, session.region_name) == ("my-shop", "eu-west-2")


def test_a_config_file_that_is_missing_or_not_sam_s_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "other.toml").write_text('[prod.deploy.parameters]\nstack_name = "x"\n')
    (tmp_path / "flat.toml").write_text('default = "x"\n')
    (tmp_path / "latin1.toml").write_bytes(b'stack_name = "caf\xe9"\n')

    for name in ("missing.toml", "other.toml", "flat.toml", "latin1.toml"):
        config = tmp_path / name
        with pytest.raises(SystemExit) as exited:
            stack.session_from_args("seed", ["--config-file", str(config)])
        assert exited.value.code == 2


def test_without_a_region_the_command_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr("sys.argv", ["seed"])

    with pytest.raises(SystemExit) as stopped:
        stack.run(seed_stack, "seed")

    assert "No AWS region: pass REGION=" in str(stopped.value)


def test_a_stack_that_does_not_exist_is_named_in_a_one_line_error(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["seed", "--stack-name", "nowhere", "--region", REGION])

    with pytest.raises(SystemExit) as stopped:
        stack.run(seed_stack, "seed")

    assert str(stopped.value).startswith("nowhere: ")
    assert "does not exist" in str(stopped.value)
