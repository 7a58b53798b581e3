"""The AWS side of confirming a ticket: SES for the email, the dead-letter queue for what SES refuses."""

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from worker.confirmation import Email

# Ten sends run at once (a full batch), so the connection pool holds ten.
CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=10
)

# Worth another try later: SES is busy or broken, not refusing this email.
_TRANSIENT_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
)


class EmailRejected(Exception):
    """SES refused this email for good (e.g. a rejected address or an unverified sender)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"SES rejected the email: {code}")
        self.code = code


class SesMailer:
    def __init__(self, sender: str, client: Any = None) -> None:
        self._sender = sender
        self._client = client or boto3.client("sesv2", config=CLIENT_CONFIG)

    def send(self, to: str, email: Email) -> str:
        """Send `email` to `to` and return SES's message id; raise `EmailRejected` if SES refuses it for good."""
        try:
            response = self._client.send_email(
                FromEmailAddress=self._sender,
                # The buyer's address travels only in the structured destination, never in a header we build.
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": email.text, "Charset": "UTF-8"},
                            "Html": {"Data": email.html, "Charset": "UTF-8"},
                        },
                    }
                },
                EmailTags=[{"Name": name, "Value": value} for name, value in email.tags.items()],
            )
        except ClientError as error:
            if _is_permanent(error):
                raise EmailRejected(error.response["Error"]["Code"]) from error
            raise
        message_id: str = response["MessageId"]
        return message_id


def _is_permanent(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    return status < 500 and error.response["Error"]["Code"] not in _TRANSIENT_CODES


class SqsDeadLetters:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs", config=CLIENT_CONFIG)

    def park(self, body: str, reason: str) -> None:
        """Keep the message, with why it could not be delivered, where it can be inspected and redriven."""
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={"failureReason": {"DataType": "String", "StringValue": reason}},
        )
