"""The embedded AWS's DynamoDB keeps DynamoDB's ClientRequestToken rules (tools/moto_dynamodb.py)."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION


@pytest.fixture
def dynamodb(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="counters",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def add_one(token: str, by: int = 1) -> dict[str, Any]:
    update = {
        "TableName": "counters",
        "Key": {"id": {"S": "seats"}},
        "UpdateExpression": "ADD sold :n",
        "ExpressionAttributeValues": {":n": {"N": str(by)}},
    }
    return {"TransactItems": [{"Update": update}], "ClientRequestToken": token}


def sold(dynamodb: Any) -> int:
    return int(dynamodb.get_item(TableName="counters", Key={"id": {"S": "seats"}})["Item"]["sold"]["N"])


def test_a_committed_transaction_repeated_with_its_token_is_answered_without_applying_it_again(dynamodb: Any) -> None:
    dynamodb.transact_write_items(**add_one("token-1"))

    dynamodb.transact_write_items(**add_one("token-1"))
    dynamodb.transact_write_items(**add_one("token-2"))

    assert sold(dynamodb) == 2


def test_a_token_reused_for_another_request_is_refused(dynamodb: Any) -> None:
    dynamodb.transact_write_items(**add_one("token-1"))

    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(**add_one("token-1", by=5))

    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert sold(dynamodb) == 1
