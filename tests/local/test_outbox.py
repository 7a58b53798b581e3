"""The outbox: what SES sent, as .eml files a person can open."""

import io
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import boto3

from tools.local.aws import EmbeddedAws, SendEmailRequest, record_send_email_requests
from tools.local.console import Console, mask_email
from tools.local.outbox import Outbox, SentEmail, file_name, to_eml

TICKET_ID = "5b1e0000-0000-4000-8000-000000000001"
SENDER = "tickets@example.com"
HTML = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Your gig ticket is confirmed</title></head>
<body>
  <p>Hi Ada &amp; friends,</p>
  <p>Ticket ID: <code>{TICKET_ID}</code></p>
  <p>Enjoy the show!<br>The Ticket Shop</p>
</body>
</html>
"""
SENT_AT = datetime(2026, 11, 23, 18, 1, 2, tzinfo=UTC)


def _sent(**changes: object) -> SentEmail:
    fields: dict[str, object] = {
        "message_id": "0100018c-abcd",
        "source": "tickets@example.com",
        "to": ["ada@example.com"],
        "subject": "Your gig ticket is confirmed",
        "body": HTML,
    }
    return SentEmail(**{**fields, **changes})  # type: ignore[arg-type]


def test_an_html_email_becomes_a_message_with_a_plain_text_alternative() -> None:
    # When
    message = message_from_bytes(to_eml(_sent(), SENT_AT), policy=policy.default)

    # Then
    assert message["From"] == "tickets@example.com"
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Your gig ticket is confirmed"
    assert message["Message-ID"] == "<0100018c-abcd@email.amazonses.com>"
    assert message["Date"] == "Mon, 23 Nov 2026 18:01:02 +0000"
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert plain == f"Hi Ada & friends,\n\nTicket ID: {TICKET_ID}\n\nEnjoy the show!\nThe Ticket Shop\n"
    assert message.get_body(("html",)).get_content() == HTML  # type: ignore[union-attr]


def test_a_file_is_named_after_the_ticket_its_tag_names() -> None:
    assert file_name(_sent(tags={"ticketId": TICKET_ID}), SENT_AT) == f"20261123T180102Z-{TICKET_ID}.eml"


def test_a_file_without_a_ticket_tag_is_named_after_the_ses_message_whatever_uuid_the_text_holds() -> None:
    # The HTML holds TICKET_ID, but nothing says which ticket the email is about
    assert file_name(_sent(), SENT_AT) == "20261123T180102Z-0100018c-abcd.eml"


def test_a_ticket_tag_that_ses_would_refuse_names_no_file() -> None:
    assert file_name(_sent(tags={"ticketId": "../../etc/passwd"}), SENT_AT) == "20261123T180102Z-0100018c-abcd.eml"


def test_an_email_carries_the_text_part_that_was_sent_rather_than_one_derived_from_its_html() -> None:
    # Given the parts the request carried, the text part worded unlike the HTML
    text = "Hi Ada,\nYour ticket is confirmed.\n"

    # When
    message = message_from_bytes(to_eml(_sent(text=text, html=HTML), SENT_AT), policy=policy.default)

    # Then
    assert message.get_body(("plain",)).get_content() == text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == HTML  # type: ignore[union-attr]


def test_an_email_sent_in_html_alone_has_no_text_part_made_up_for_it() -> None:
    # When
    message = message_from_bytes(to_eml(_sent(html=HTML), SENT_AT), policy=policy.default)

    # Then
    assert message.get_content_type() == "text/html"
    assert message.get_content() == HTML


def test_an_email_sent_through_the_embedded_ses_is_filed_under_its_ticket_with_the_parts_it_was_sent_with(
    aws: None, tmp_path: Path
) -> None:
    # Given the embedded AWS's SES, and a buyer whose name holds a UUID that comes before the ticket's
    record_send_email_requests()
    ses = boto3.client("sesv2", region_name="us-east-1")
    ses.create_email_identity(EmailIdentity=SENDER)
    buyer_uuid = "11111111-2222-4333-8444-555555555555"
    text = f"Hi Ada {buyer_uuid},\n\nTicket ID: {TICKET_ID}\n"
    html = f"<p>Hi Ada {buyer_uuid},</p><p>Ticket ID: <code>{TICKET_ID}</code></p>"

    # When the confirmation is sent as the worker sends it, and the outbox collects it
    ses.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["ada@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Your gig ticket is confirmed"},
                "Body": {"Text": {"Data": text}, "Html": {"Data": html}},
            }
        },
        EmailTags=[{"Name": "ticketId", "Value": TICKET_ID}],
    )
    embedded = EmbeddedAws()
    (path,) = Outbox(tmp_path, embedded.sent_emails, Console(io.StringIO()), embedded.send_email_request).collect()

    # Then the file is named after the ticket, not the buyer, and holds both parts as they were sent
    assert path.name.endswith(f"-{TICKET_ID}.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message.get_body(("plain",)).get_content() == text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content().rstrip("\n") == html  # type: ignore[union-attr]


def test_an_address_is_masked_as_the_functions_log_it() -> None:
    assert mask_email("ada@example.com") == "a***@example.com"


def test_each_email_is_written_once_and_told_on_the_console_with_the_address_masked(tmp_path: Path) -> None:
    # Given SES's record of one sent email (moto's shape of it)
    sent = [
        SimpleNamespace(
            id="0100018c-abcd",
            source="tickets@example.com",
            destinations={"ToAddresses": ["ada@example.com"]},
            subject="Your gig ticket is confirmed",
            body=HTML,
        )
    ]
    console = io.StringIO()
    requests = {"0100018c-abcd": SendEmailRequest(html=HTML, tags={"ticketId": TICKET_ID})}
    outbox = Outbox(tmp_path, lambda: sent, Console(console), requests.get)

    # When the outbox looks twice
    written = outbox.collect() + outbox.collect()

    # Then one file, and one line
    assert [path.name for path in tmp_path.iterdir()] == [path.name for path in written]
    assert len(written) == 1
    assert re.fullmatch(
        rf'email  a\*\*\*@example\.com  ticket {TICKET_ID}  "Your gig ticket is confirmed"  -> \S+\.eml\n',
        console.getvalue(),
    )
    assert "ada@" not in console.getvalue()


def test_the_same_email_sent_twice_gets_a_file_each_and_no_draft_is_left(tmp_path: Path) -> None:
    # Given one confirmation sent twice within a second (a redelivery the idempotency store missed)
    email = SimpleNamespace(
        id="0100018c-abcd",
        source="tickets@example.com",
        destinations={"ToAddresses": ["ada@example.com"]},
        subject="Your gig ticket is confirmed",
        body=HTML,
    )
    outbox = Outbox(tmp_path, lambda: [email, email], Console(io.StringIO()))

    # When
    written = outbox.collect()

    # Then both are there, whole, and nothing else is
    assert len({path.name for path in written}) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(path.name for path in written)
    for path in written:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert TICKET_ID in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
