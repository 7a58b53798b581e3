"""The AWS side of placing an order: the gigs table and the purchase queue."""

from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from purchase.models import GigDetails, TicketMessage
from purchase.orders import ServiceUnavailable

# The buyer is waiting on the other end: fail in seconds, not after botocore's default minute.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})

_GIG_DETAILS = ["id", "bandName", "venue", "city", "#date", "collectionPoint", "collectionTime"]
_deserialize = TypeDeserializer().deserialize


class GigCatalogue:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    def find(self, gig_id: str) -> GigDetails | None:
        try:
            response = self._client.get_item(
                TableName=self._table_name,
                Key={"id": {"S": gig_id}},
                ProjectionExpression=", ".join(_GIG_DETAILS),
                ExpressionAttributeNames={"#date": "date"},  # a reserved word
            )
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("gig catalogue unavailable") from error
        item = response.get("Item")
        if item is None:
            return None
        return GigDetails.model_validate({key: _deserialize(value) for key, value in item.items()})


class SqsTicketQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs", config=CLIENT_CONFIG)

    def send(self, message: TicketMessage) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=message.model_dump_json(by_alias=True))
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable("purchase queue unavailable") from error
