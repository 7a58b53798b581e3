"""The outbox: what SES sent, as .eml files a person can open."""

import io
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

from tools.local.console import Console
from tools.local.outbox import Outbox, SentEmail, file_name, mask_email, to_eml

TICKET_ID = "5b1e0000-0000-4000-8000-000000000001"
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


def test_a_file_is_named_after_the_ticket_it_confirms_or_else_the_ses_message() -> None:
    assert file_name(_sent(), SENT_AT) == f"20261123T180102Z-{TICKET_ID}.eml"
    assert file_name(_sent(body="<p>No ticket here</p>"), SENT_AT) == "20261123T180102Z-0100018c-abcd.eml"


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
    outbox = Outbox(tmp_path, lambda: sent, Console(console))

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
