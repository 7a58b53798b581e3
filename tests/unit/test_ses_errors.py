"""Which SES failures are worth retrying and which are final (botocore's Stubber stands in for SES)."""

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from worker.adapters import SesMailer
from worker.delivery import EmailRejected
from worker.email_content import Email

EMAIL = Email(subject="s", text="t", html="<p>h</p>", tags={"ticketId": "t-1"})


@pytest.fixture
def ses() -> Iterator[tuple[SesMailer, Stubber]]:
    client = boto3.client("sesv2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield SesMailer("tickets@example.com", client=client), stubber


def test_a_sent_email_is_tagged_with_its_ticket_and_returns_ses_message_id(ses: tuple[SesMailer, Stubber]) -> None:
    mailer, stubber = ses
    stubber.add_response(
        "send_email",
        {"MessageId": "m-1"},
        {
            "FromEmailAddress": "tickets@example.com",
            "Destination": {"ToAddresses": ["ada@example.com"]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": "s", "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": "t", "Charset": "UTF-8"},
                        "Html": {"Data": "<p>h</p>", "Charset": "UTF-8"},
                    },
                }
            },
            "EmailTags": [{"Name": "ticketId", "Value": "t-1"}],
        },
    )

    assert mailer.send("ada@example.com", EMAIL) == "m-1"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("TooManyRequestsException", 429),
        ("LimitExceededException", 400),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_throttling_and_server_errors_stay_retryable(ses: tuple[SesMailer, Stubber], code: str, status: int) -> None:
    mailer, stubber = ses
    stubber.add_client_error("send_email", service_error_code=code, http_status_code=status)

    with pytest.raises(ClientError) as caught:
        mailer.send("ada@example.com", EMAIL)

    assert not isinstance(caught.value.__cause__, EmailRejected)


@pytest.mark.parametrize(
    "code",
    ["MessageRejected", "BadRequestException", "MailFromDomainNotVerifiedException", "AccountSuspendedException"],
)
def test_a_refusal_is_final(ses: tuple[SesMailer, Stubber], code: str) -> None:
    mailer, stubber = ses
    stubber.add_client_error("send_email", service_error_code=code, http_status_code=400)

    with pytest.raises(EmailRejected) as caught:
        mailer.send("ada@example.com", EMAIL)

    assert caught.value.code == code
