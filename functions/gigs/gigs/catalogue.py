"""The gigs table."""

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gigs.listing import CatalogueUnavailable
from gigs.models import Gig

# DynamoDB answers in milliseconds: a second without an answer is a fault, tried once more. At its slowest
# (5 s) a call still ends well inside the function's timeout, so the buyer gets the 503, not API Gateway's.
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})

_deserialize = TypeDeserializer().deserialize
logger = Logger(child=True)


class GigCatalogue:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    def all_gigs(self) -> list[Gig]:
        """A scan is right for a catalogue of a few hundred gigs at most."""
        try:
            pages = self._client.get_paginator("scan").paginate(TableName=self._table_name)
            items = [item for page in pages for item in page["Items"]]
        except (BotoCoreError, ClientError) as error:
            raise CatalogueUnavailable from error
        return [gig for item in items if (gig := _gig(item)) is not None]

    def find(self, gig_id: str) -> Gig | None:
        try:
            item = self._client.get_item(TableName=self._table_name, Key={"id": {"S": gig_id}}).get("Item")
        except (BotoCoreError, ClientError) as error:
            raise CatalogueUnavailable from error
        return None if item is None else _gig(item)


def _gig(item: dict[str, Any]) -> Gig | None:
    """The gig, or None for an item that is not one: one bad row must not take the whole catalogue down."""
    try:
        return Gig.from_item({key: _deserialize(value) for key, value in item.items()})
    except (KeyError, TypeError, ValueError) as error:
        gig_id = str(item.get("id", {}).get("S", ""))[:100]
        logger.error("Gig left out: its catalogue item is malformed", extra={"gigId": gig_id, "error": repr(error)})
        return None
