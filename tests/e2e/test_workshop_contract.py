"""The API as fourTheorem's TimelessMusic workshop frontend calls it, over HTTP against the local stack.

Its code: `fetch(`${apiBaseUrl}/gigs`)` read as `Gig[]`, `fetch(`${apiBaseUrl}/gigs/${id}`)` read as `Gig`, and
`fetch(`${apiBaseUrl}/purchase`, { method: 'POST', body: JSON.stringify(formData) })`: no Content-Type of its
own, so the browser sends `text/plain;charset=UTF-8`, a CORS "simple request" that gets no preflight, and the
page may read the answer only if it carries Access-Control-Allow-Origin. The frontend is served from a local
origin of its own (a dev server's), not the shop's.
"""

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from tests.e2e.local_stack import HttpResult, RunningStack, http
from tests.workshop import WORKSHOP_GIG

WORKSHOP_ORIGIN = "http://localhost:5173"
# What `fetch` sends for a string body with no Content-Type given, from a page on WORKSHOP_ORIGIN.
BROWSER_HEADERS = {"origin": WORKSHOP_ORIGIN, "content-type": "text/plain;charset=UTF-8"}


def _readable_by_the_page(response: HttpResult) -> bool:
    return response.headers["access-control-allow-origin"] in (WORKSHOP_ORIGIN, "*")


def _is_a_gig(value: Any) -> None:
    assert isinstance(value, dict), value
    for field, expected in WORKSHOP_GIG.items():
        # A JSON number is what TypeScript's `number` reads; a bool is not one.
        assert type(value.get(field)) is expected, (field, value.get(field))


@pytest.fixture
def gigs(local_stack: RunningStack) -> list[dict[str, Any]]:
    response = http("GET", f"{local_stack.api_url}/gigs", headers={"origin": WORKSHOP_ORIGIN})
    assert response.status == 200
    assert _readable_by_the_page(response)
    listed: list[dict[str, Any]] = response.json()
    return listed


def test_the_list_is_a_bare_array_of_gigs_with_every_field_of_the_workshops_type(gigs: list[dict[str, Any]]) -> None:
    assert isinstance(gigs, list)
    assert gigs
    for gig in gigs:
        _is_a_gig(gig)


def test_a_gig_opened_from_the_list_is_the_workshops_gig(local_stack: RunningStack, gigs: list[dict[str, Any]]) -> None:
    # When the page opens each gig of the list
    for listed in gigs:
        response = http("GET", f"{local_stack.api_url}/gigs/{listed['id']}", headers={"origin": WORKSHOP_ORIGIN})

        # Then it reads a Gig, the one it asked for
        assert response.status == 200
        assert _readable_by_the_page(response)
        gig = response.json()
        _is_a_gig(gig)
        assert {field: gig[field] for field in WORKSHOP_GIG} == {field: listed[field] for field in WORKSHOP_GIG}


def test_the_purchase_form_posted_as_text_plain_is_accepted_and_its_email_arrives(
    local_stack: RunningStack, gigs: list[dict[str, Any]]
) -> None:
    # Given the workshop's form data for a gig with seats left (its month and year are strings, unpadded)
    gig = max(gigs, key=lambda gig: gig["ticketsLeft"])
    email = f"workshop-{uuid.uuid4()}@example.com"
    form_data = {
        "gigId": gig["id"],
        "name": "Ada Lovelace",
        "email": email,
        "nameOnCard": "A LOVELACE",
        "cardNumber": "4242424242424242",
        "cardExpiryMonth": "5",
        "cardExpiryYear": str(dt.datetime.now(dt.UTC).year + 4),
        "cardCVC": "123",
        "disclaimerAccepted": True,
    }

    # When the page posts it as `fetch` does, with no preflight before
    body = json.dumps(form_data).encode()
    response = http("POST", f"{local_stack.api_url}/purchase", body, BROWSER_HEADERS)

    # Then it is accepted, the page may read the answer, and the buyer's email arrives
    assert response.status == 202, response.body
    assert _readable_by_the_page(response)
    ticket_id = response.json()["ticketId"]
    confirmation = local_stack.wait_for_email(ticket_id)
    assert confirmation["To"] == email
    assert gig["bandName"] in confirmation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
