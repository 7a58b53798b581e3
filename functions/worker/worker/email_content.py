"""The confirmation email: a fixed subject, and a text and an HTML body built from the ticket."""

from dataclasses import dataclass, field
from html import escape
from string import Template

from worker.models import TicketMessage

# Fixed: nothing the buyer typed goes into a header.
SUBJECT = "Your gig ticket is confirmed"

_TEXT = Template("""\
Hi $name,

Your ticket for $band at $venue, $city on $date is confirmed.

Ticket ID: $ticket_id

Collect your ticket at $collection_point from $collection_time on the day of the show.
Bring this email with you.

Enjoy the show!
The Ticket Shop
""")

_HTML = Template("""\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>$subject</title></head>
<body style="font-family: system-ui, sans-serif; color: #1a1a1a; line-height: 1.5">
  <p>Hi $name,</p>
  <p>Your ticket for <strong>$band</strong> at $venue, $city on <strong>$date</strong> is confirmed.</p>
  <p>Ticket ID: <code style="font-size: 1.1em">$ticket_id</code></p>
  <p>Collect your ticket at <strong>$collection_point</strong> from <strong>$collection_time</strong>
     on the day of the show. Bring this email with you.</p>
  <p>Enjoy the show!<br>The Ticket Shop</p>
</body>
</html>
""")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    # SES message tags: they travel with SES's delivery, bounce and complaint events, so those can be
    # traced back to the ticket. Ours only, never buyer input.
    tags: dict[str, str] = field(default_factory=dict)


def render(ticket: TicketMessage) -> Email:
    gig = ticket.gig
    fields = {
        "name": ticket.buyer.name,
        "band": gig.band_name,
        "venue": gig.venue,
        "city": gig.city,
        "date": f"{gig.date:%A} {gig.date.day} {gig.date:%B %Y}",
        "ticket_id": str(ticket.ticket_id),
        "collection_point": gig.collection_point,
        "collection_time": gig.collection_time,
    }
    return Email(
        subject=SUBJECT,
        text=_TEXT.substitute(fields),
        html=_HTML.substitute({key: escape(value) for key, value in fields.items()}, subject=escape(SUBJECT)),
        tags={"ticketId": str(ticket.ticket_id)},
    )
