"""The confirmation email's content."""

from uuid import UUID

from worker.email_content import SUBJECT, render
from worker.models import TicketMessage

TICKET_ID = "5b1e0000-0000-4000-8000-000000000001"


def ticket(name: str = "Ada Lovelace") -> TicketMessage:
    return TicketMessage.model_validate(
        {
            "ticketId": TICKET_ID,
            "purchasedAt": "2026-11-23T18:00:00Z",
            "buyer": {"name": name, "email": "ada@example.com"},
            "gig": {
                "id": "queen-wembley-1986",
                "bandName": "Queen",
                "venue": "Wembley Stadium",
                "city": "London",
                "date": "2028-07-12",
                "collectionPoint": "North gate",
                "collectionTime": "16:30",
            },
        }
    )


def test_both_bodies_carry_the_ticket_id_and_the_gig_details() -> None:
    email = render(ticket())

    for body in (email.text, email.html):
        for detail in (
            TICKET_ID,
            "Ada Lovelace",
            "Queen",
            "Wembley Stadium",
            "London",
            "Wednesday 12 July 2028",
            "North gate",
            "16:30",
        ):
            assert detail in body


def test_the_subject_is_fixed_whatever_the_buyer_typed() -> None:
    assert render(ticket(name="Eve <eve@example.com>")).subject == SUBJECT == render(ticket()).subject


def test_markup_in_the_buyer_name_is_escaped_in_the_html_body() -> None:
    email = render(ticket(name='<script>alert("x")</script> & Co'))

    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in email.html
    assert '<script>alert("x")</script> & Co' in email.text


def test_the_ticket_id_in_the_email_is_the_message_s() -> None:
    assert str(UUID(TICKET_ID)) in render(ticket()).text


def test_the_email_is_tagged_with_its_ticket_id_not_with_anything_the_buyer_typed() -> None:
    other_id = "11111111-2222-4333-8444-555555555555"

    email = render(ticket(name=f"Ada {other_id}"))

    assert email.tags == {"ticketId": TICKET_ID}
