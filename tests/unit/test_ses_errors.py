"""Which SES failures are worth retrying and which are final (botocore's Stubber stands in for SES)."""

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from worker.adapters import SEND_ATTEMPTS, SEND_SECONDS, SES_CONFIG, SesMailer
from worker.delivery import Deadline, EmailRejected, OutOfTime
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


@pytest.mark.parametrize(("code", "status"), [("TooManyRequestsException", 429), ("LimitExceededException", 400)])
def test_a_throttled_send_is_tried_again_then_left_for_sqs_to_retry(
    ses: tuple[SesMailer, Stubber], code: str, status: int
) -> None:
    mailer, stubber = ses
    for _ in range(SEND_ATTEMPTS):
        stubber.add_client_error("send_email", service_error_code=code, http_status_code=status)

    with pytest.raises(ClientError) as caught:
        mailer.send("ada@example.com", EMAIL)

    assert not isinstance(caught.value, EmailRejected)
    stubber.assert_no_pending_responses()  # every attempt was made


def test_a_send_throttled_once_goes_through_on_the_next_attempt(ses: tuple[SesMailer, Stubber]) -> None:
    mailer, stubber = ses
    stubber.add_client_error("send_email", service_error_code="TooManyRequestsException", http_status_code=429)
    stubber.add_response("send_email", {"MessageId": "m-2"})

    assert mailer.send("ada@example.com", EMAIL) == "m-2"


class Ses:
    """An SES client whose sends fail with `errors` in turn, then succeed; counts the requests."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.requests = 0

    def send_email(self, **_: object) -> dict[str, str]:
        self.requests += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"MessageId": f"m-{self.requests}"}


def server_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")  # type: ignore[typeddict-item]


@pytest.mark.parametrize(("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503)])
def test_a_server_error_is_not_retried_here_ses_may_have_sent_it(code: str, status: int) -> None:
    client = Ses(server_error(code, status))

    with pytest.raises(ClientError) as caught:
        SesMailer("tickets@example.com", client=client).send("ada@example.com", EMAIL)

    assert not isinstance(caught.value, EmailRejected)
    assert client.requests == 1


def test_an_answer_lost_after_the_request_reached_ses_is_not_sent_again() -> None:
    # SES may have accepted it: sending again here could be a second email (a redelivery decides later).
    client = Ses(ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"))

    with pytest.raises(ReadTimeoutError):
        SesMailer("tickets@example.com", client=client).send("ada@example.com", EMAIL)

    assert client.requests == 1


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    ],
    ids=["no-connection", "connect-timeout"],
)
def test_a_send_that_never_reached_ses_is_tried_again(error: Exception) -> None:
    client = Ses(error)

    assert SesMailer("tickets@example.com", client=client).send("ada@example.com", EMAIL) == "m-2"
    assert client.requests == 2


def test_botocore_itself_never_retries_a_send_whose_answer_was_lost() -> None:
    client = boto3.client("sesv2", region_name="us-east-1", config=SES_CONFIG)
    requests = []

    def lose_the_answer(**_: object) -> None:
        requests.append(1)
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    client.meta.events.register("before-send.sesv2.SendEmail", lose_the_answer)

    with pytest.raises(ReadTimeoutError):
        SesMailer("tickets@example.com", client=client).send("ada@example.com", EMAIL)

    assert len(requests) == 1


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


def test_no_attempt_starts_without_the_time_to_finish_it_and_record_it() -> None:
    client = Ses()

    with pytest.raises(OutOfTime):
        SesMailer("tickets@example.com", client=client).send(
            "ada@example.com", EMAIL, Deadline(seconds_left=lambda: SEND_SECONDS - 0.001)
        )

    assert client.requests == 0


def test_a_throttled_send_is_not_tried_again_once_the_time_is_short() -> None:
    client = Ses(server_error("TooManyRequestsException", 429))
    left = iter([SEND_SECONDS, SEND_SECONDS - 0.001])  # enough for the first attempt, not for a second

    with pytest.raises(OutOfTime):
        SesMailer("tickets@example.com", client=client).send("ada@example.com", EMAIL, Deadline(lambda: next(left)))

    assert client.requests == 1


def test_a_send_with_just_the_time_it_needs_goes_out() -> None:
    client = Ses()

    sent = SesMailer("tickets@example.com", client=client).send(
        "ada@example.com", EMAIL, Deadline(seconds_left=lambda: SEND_SECONDS)
    )

    assert (sent, client.requests) == ("m-1", 1)
