"""TicketsTable, read through the few attributes this function's IAM policy lets it read."""

from typing import Any
from uuid import UUID

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tickets.lookup import LedgerUnavailable
from tickets.models import Status, TicketView

# DynamoDB answers in milliseconds: a second without an answer is a fault, tried once more. At its slowest
# (5 s) a call still ends well inside the function's timeout, so the buyer gets the 503, not API Gateway's.
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})

# The template grants GetItem on exactly these attributes (dynamodb:Attributes): buyers' names and full
# addresses are out of this function's reach, not merely out of its answers.
ATTRIBUTES = ("id", "gigId", "status", "createdAt", "maskedEmail")


class TicketLedger:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    def find(self, ticket_id: UUID) -> TicketView | None:
        names = {f"#a{n}": attribute for n, attribute in enumerate(ATTRIBUTES)}
        try:
            response = self._client.get_item(
                TableName=self._table_name,
                Key={"id": {"S": str(ticket_id)}},
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
                # A buyer looks their ticket up right after its 202, and again as it changes: never an older copy.
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as error:
            raise LedgerUnavailable from error
        item = {name: value["S"] for name, value in response.get("Item", {}).items()}
        if "status" not in item:
            return None  # no such ticket (or not a ticket)
        return TicketView(
            ticket_id=UUID(item["id"]),
            gig_id=item["gigId"],
            status=Status(item["status"]),
            created_at=item["createdAt"],
            email=item["maskedEmail"],
        )
