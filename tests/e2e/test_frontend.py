"""The shop in a browser, as a buyer uses it: the frontend served by the local stack, in headless Chromium.

The pages are served as on CloudFront, under the template's Content-Security-Policy; the `page` fixture fails
any test whose page breaks it. Selectors are the ones frontend/README.md documents for tests.
"""

import io
import re
import socket
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email import message_from_bytes, policy
from typing import Any

import boto3
import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.e2e.local_stack import RunningStack
from tools.catalogue import load_gigs
from tools.local.console import Console
from tools.local.frontend import FrontendServer, security_headers
from tools.provision import LocalResources
from tools.sam_template import SamTemplate

GIGS = load_gigs()
VALID_CARD = "4242 4242 4242 4242"
LUHN_FAILS = "4242 4242 4242 4241"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CANT_REACH = "We can't reach the ticket service. Check your connection and try again."
# Locally, a table is named after its logical id in template.yml.
GIGS_TABLE, TICKETS_TABLE = "GigsTable", "TicketsTable"
# The buy form's controls: label -> API field name, in form (and tab) order.
FORM_LABELS = {
    "Full name": "name",
    "Email address": "email",
    "Name on card": "nameOnCard",
    "Card number": "cardNumber",
    "Month": "cardExpiryMonth",
    "Year": "cardExpiryYear",
    "Security code": "cardCVC",
    "I understand that tickets are non-refundable": "disclaimerAccepted",
}


def _gig(gig_id: str) -> dict[str, Any]:
    return next(gig for gig in GIGS if gig["id"] == gig_id)


def _shown_date(iso: str) -> str:
    """A calendar date as the pages show it in US English: "Sat, January 30, 2027"."""
    day = date.fromisoformat(iso)
    return f"{day:%a}, {day:%B} {day.day}, {day.year}"


def _shown_price(price: str) -> str:
    """A price as the pages show it: "$2,500.00"."""
    return f"${Decimal(price):,.2f}"


def _this_year() -> int:
    """The first expiry year the form offers: this year in the browser's time zone (the context's, UTC)."""
    return datetime.now(UTC).year


def _buyer_email() -> str:
    """An address no other test types, so the outbox cannot confuse two buyers."""
    return f"ada.{uuid.uuid4().hex[:12]}@example.com"


def _open_gig(page: Page, local_stack: RunningStack, gig_id: str) -> None:
    page.goto(f"{local_stack.frontend_url}/gig.html?id={gig_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(_gig(gig_id)["bandName"])


def _fill_order(page: Page, email: str, card_number: str = VALID_CARD) -> None:
    """Everything a buyer types, valid except for what the arguments say."""
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Name on card").fill("A LOVELACE")
    page.get_by_label("Card number").fill(card_number)
    page.get_by_label("Month", exact=True).select_option("12")
    page.get_by_label("Year", exact=True).select_option(str(_this_year() + 2))
    page.get_by_label("Security code").fill("123")
    page.get_by_label(re.compile("^I understand that tickets are non-refundable")).check()


def _submit(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Buy ticket")).click()


def _purchases(page: Page) -> list[Request]:
    """Every order the page posts from now on (the CORS preflight is not one)."""
    posted: list[Request] = []
    page.on("request", lambda r: posted.append(r) if r.method == "POST" and r.url.endswith("/purchase") else None)
    return posted


def _is_order(route: Route) -> bool:
    return route.request.method == "POST"


def _losing_the_first_answer(page: Page) -> list[dict[str, Any]]:
    """The first order reaches the shop, and the connection loses its answer; returns what the shop answered."""
    lost: list[dict[str, Any]] = []

    def lose_the_first_answer(route: Route) -> None:
        if not _is_order(route) or lost:
            route.fallback()
            return
        lost.append(route.fetch().json())
        route.abort("connectionreset")

    page.route("**/purchase", lose_the_first_answer)
    return lost


def _an_order_whose_answer_was_lost(
    page: Page, local_stack: RunningStack
) -> tuple[list[Request], list[dict[str, Any]], str]:
    """An order sent from a gig's page that reached the shop, whose answer the connection lost: the orders
    posted (from then on), what the shop answered, and the buyer's address."""
    _open_gig(page, local_stack, GIGS[9]["id"])
    posted = _purchases(page)
    lost = _losing_the_first_answer(page)
    email = _buyer_email()
    _fill_order(page, email)
    _submit(page)
    expect(page.locator("#form-errors")).to_contain_text("we don't know if your order went through")
    return posted, lost, email


def _expect_the_first_ticket_under_one_key(
    page: Page, local_stack: RunningStack, posted: list[Request], lost: list[dict[str, Any]], email: str
) -> None:
    """The page shows the ticket the lost answer held, it is the buyer's one ticket emailed, and both orders
    carried the same Idempotency-Key."""
    expect(page.locator("#ticket-id")).to_have_text(lost[0]["ticketId"])
    assert _expect_one_ticket_emailed(page, local_stack, email) == lost[0]["ticketId"]
    first, second = _keys(posted)
    assert first is not None
    assert first == second


def _keys(posted: list[Request]) -> list[str | None]:
    """The Idempotency-Key of each order posted."""
    return [request.headers.get("idempotency-key") for request in posted]


def _tickets_left(local_stack: RunningStack, gig_id: str) -> int:
    """Seats not sold yet, as the gigs table counts them."""
    item = local_stack.client("dynamodb").get_item(TableName=GIGS_TABLE, Key={"id": {"S": gig_id}})["Item"]
    return int(item["capacity"]["N"]) - int(item.get("sold", {"N": "0"})["N"])


@contextmanager
def _sold_out(local_stack: RunningStack, gig_id: str) -> Iterator[None]:
    """Every seat of the gig sold, as far as the gigs table knows; its count put back afterwards.

    The stack is shared by the whole session, so a test sells out only a gig no other test buys.
    """
    dynamodb = local_stack.client("dynamodb")
    key = {"id": {"S": gig_id}}
    sold = dynamodb.get_item(TableName=GIGS_TABLE, Key=key)["Item"].get("sold", {"N": "0"})
    dynamodb.update_item(
        TableName=GIGS_TABLE,
        Key=key,
        UpdateExpression="SET sold = #capacity",
        ExpressionAttributeNames={"#capacity": "capacity"},
    )
    try:
        yield
    finally:
        dynamodb.update_item(
            TableName=GIGS_TABLE,
            Key=key,
            UpdateExpression="SET sold = :sold",
            ExpressionAttributeValues={":sold": sold},
        )


def _ledger_tickets_of(local_stack: RunningStack, email: str) -> list[str]:
    """The ids of the tickets the ledger holds for a buyer."""
    pages = (
        local_stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=TICKETS_TABLE,
            FilterExpression="buyerEmail = :email",
            ExpressionAttributeValues={":email": {"S": email}},
        )
    )
    return [item["id"]["S"] for page in pages for item in page["Items"]]


def _emails_to(local_stack: RunningStack, email: str) -> list[str]:
    """The outbox's emails to a buyer, by file name."""
    sent = [
        (path, message_from_bytes(path.read_bytes(), policy=policy.default))
        for path in local_stack.outbox.glob("*.eml")
    ]
    return sorted(path.name for path, message in sent if message["To"] == email)


def _buy(page: Page, local_stack: RunningStack, gig_id: str, email: str) -> str:
    """Buy a ticket for the gig on its page; the ticket's id, once emailed."""
    _open_gig(page, local_stack, gig_id)
    _fill_order(page, email)
    _submit(page)
    return _expect_one_ticket_emailed(page, local_stack, email)


def _expect_one_ticket_emailed(page: Page, local_stack: RunningStack, email: str) -> str:
    """The ticket the page shows reached "Email sent"; it is the buyer's only ticket, and was emailed once."""
    expect(page.locator("#ticket-status")).to_contain_text("Email sent")
    ticket_id = page.locator("#ticket-id").inner_text()
    local_stack.wait_for_email(ticket_id)
    assert _ledger_tickets_of(local_stack, email) == [ticket_id]
    assert len(_emails_to(local_stack, email)) == 1
    return ticket_id


def test_the_home_page_lists_every_gig_as_a_card_linking_to_its_page(page: Page, local_stack: RunningStack) -> None:
    # Given the catalogue the stack was seeded with (data/gigs.json)
    # When a buyer opens the home page
    response = page.goto(f"{local_stack.frontend_url}/")

    # Then there is one card per gig, soonest first...
    cards = page.locator("#gig-list li.gig-card")
    expect(cards).to_have_count(len(GIGS))
    soonest_first = sorted(GIGS, key=lambda gig: (gig["date"], gig["id"]))
    links = [cards.nth(index).get_by_role("link") for index in range(len(GIGS))]
    assert [link.get_attribute("href") for link in links] == [f"gig.html?id={gig['id']}" for gig in soonest_first]
    # ...each with the band (its link to the gig page), city, venue, date and price
    for gig, card, link in zip(soonest_first, cards.all(), links, strict=True):
        expect(link).to_have_text(gig["bandName"])
        for shown in (gig["city"], gig["venue"], _shown_date(gig["date"]), _shown_price(gig["price"])):
            expect(card).to_contain_text(shown)
    # ...and the page came with the Content-Security-Policy that allows only the site's own scripts
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_a_buyer_picks_a_gig_buys_a_ticket_and_is_emailed_it(page: Page, local_stack: RunningStack) -> None:
    # Given the home page
    gig = GIGS[0]
    email = _buyer_email()
    page.goto(f"{local_stack.frontend_url}/")

    # When the buyer opens a gig from its card...
    page.locator("#gig-list li.gig-card").get_by_role("link", name=gig["bandName"], exact=True).click()
    expect(page).to_have_url(f"{local_stack.frontend_url}/gig.html?id={gig['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(gig["bandName"])
    # ...and fills the form in and submits it
    _fill_order(page, email)
    _submit(page)

    # Then the form gives way to a confirmation with the ticket id
    success = page.locator("#purchase-success")
    expect(success).to_be_visible()
    expect(page.locator("#buy-form")).to_have_count(0)
    ticket_id = page.locator("#ticket-id")
    expect(ticket_id).to_have_text(UUID4)
    # ...whose status, read out as it changes, reaches "Email sent", naming the address typed
    ticket_status = page.get_by_role("status").filter(has_text="Status:")
    expect(ticket_status).to_have_id("ticket-status")
    expect(ticket_status).to_contain_text("Email sent")
    expect(ticket_status).to_contain_text(f"Your confirmation is on its way to {email}.")
    # ...and that ticket's email reaches the address typed, naming the band
    confirmation = local_stack.wait_for_email(ticket_id.inner_text())
    assert confirmation["To"] == email
    body = confirmation.get_body(("html", "plain"))
    assert body is not None
    assert gig["bandName"] in body.get_content()


def test_a_card_number_failing_the_luhn_check_is_flagged_beside_it_and_no_order_is_sent(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a gig page, with the order filled in but for a mistyped card number
    _open_gig(page, local_stack, GIGS[1]["id"])
    posted = _purchases(page)
    _fill_order(page, _buyer_email(), card_number=LUHN_FAILS)

    # When the buyer submits it
    _submit(page)

    # Then the error is shown beside the card number, and focus moves there
    card_number = page.get_by_label("Card number")
    expect(page.locator("#cardNumber-error")).to_be_visible()
    expect(page.locator("#cardNumber-error")).to_have_text("Check your card number: it doesn't look right.")
    expect(card_number).to_have_attribute("aria-invalid", "true")
    expect(card_number).to_be_focused()
    expect(page.locator("#form-errors")).to_contain_text("There is a problem")
    expect(page.locator("[aria-invalid='true']")).to_have_count(1)
    # ...and nothing was sent (the form decides before it would post anything)
    assert posted == []

    # And once corrected, the error goes as the buyer types, and the order sent is the corrected one, once
    card_number.fill(VALID_CARD)
    expect(page.locator("#cardNumber-error")).to_be_empty()
    expect(card_number).not_to_have_attribute("aria-invalid", "true")
    _submit(page)
    expect(page.locator("#purchase-success")).to_be_visible()
    assert [(request.post_data_json or {}).get("cardNumber") for request in posted] == ["4242424242424242"]


def test_a_name_holding_a_web_address_is_flagged_beside_it_and_no_order_is_sent(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a gig page, with the order filled in and a link where the name goes
    _open_gig(page, local_stack, GIGS[1]["id"])
    posted = _purchases(page)
    _fill_order(page, _buyer_email())
    page.get_by_label("Full name").fill("Your refund: http://evil.example/claim")

    # When the buyer submits it
    _submit(page)

    # Then the form says so beside the name, as the API would (the same rule), and sends nothing
    expect(page.locator("#name-error")).to_have_text("Use a name, not a web or email address, for your name.")
    expect(page.get_by_label("Full name")).to_have_attribute("aria-invalid", "true")
    assert posted == []


def test_an_expired_card_s_error_goes_once_a_later_year_is_chosen(page: Page, local_stack: RunningStack) -> None:
    # Given the browser's date is 26 November 2026, and an order whose card expired in October
    page.clock.set_fixed_time(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    _open_gig(page, local_stack, GIGS[1]["id"])
    posted = _purchases(page)
    _fill_order(page, _buyer_email())
    page.get_by_label("Month", exact=True).select_option("10")
    page.get_by_label("Year", exact=True).select_option("2026")
    _submit(page)
    expect(page.locator("#cardExpiryMonth-error")).to_contain_text("expired")

    # When the buyer corrects the year, not the month
    page.get_by_label("Year", exact=True).select_option("2027")

    # Then the month's error goes, and nothing was sent
    expect(page.locator("#cardExpiryMonth-error")).to_be_empty()
    expect(page.get_by_label("Month", exact=True)).not_to_have_attribute("aria-invalid", "true")
    assert posted == []


def test_a_name_typed_with_combining_accents_is_counted_as_the_shop_counts_it(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a name of 104 code points as typed, 90 once its accents are composed (the server's count)
    name = ("Rene\u0301e Ame\u0301lie " * 7).strip()
    assert len(name) > 100 >= len(unicodedata.normalize("NFC", name))
    _open_gig(page, local_stack, GIGS[1]["id"])
    _fill_order(page, _buyer_email())
    page.get_by_label("Full name").fill(name)

    # When the buyer submits it
    _submit(page)

    # Then the form lets it through and the shop sells the ticket
    expect(page.locator("#purchase-success")).to_be_visible()


def test_a_field_the_server_rejects_shows_the_servers_message_beside_it(page: Page, local_stack: RunningStack) -> None:
    # Given an address the form's simple shape check lets through but the API refuses (a reserved domain)
    _open_gig(page, local_stack, GIGS[2]["id"])
    _fill_order(page, "ada@example.invalid")

    # When the buyer submits the order
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/purchase")) as answer:
        _submit(page)

    # Then the API answered 422 naming the email, and its message is shown beside the email field
    assert answer.value.status == 422
    (error,) = answer.value.json()["errors"]
    assert error["field"] == "email"
    email = page.get_by_label("Email address")
    expect(page.locator("#email-error")).to_have_text(error["message"])
    expect(page.locator("#email-error")).to_contain_text("special-use or reserved name")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(page.locator("#form-errors")).to_contain_text(answer.value.json()["message"])
    # ...and the summary says which field it is about, which the API's message alone does not
    expect(page.locator("#form-errors li")).to_have_text(f"Email address: {error['message']}")
    expect(page.locator("#purchase-success")).to_have_count(0)
    # ...and typing does not clear what only the API can check: it stays until the order is sent again
    email.press("End")
    email.type("x")
    expect(page.locator("#email-error")).to_have_text(error["message"])
    expect(email).to_have_attribute("aria-invalid", "true")


def test_an_unknown_gig_says_it_cannot_be_found_and_links_home(page: Page, local_stack: RunningStack) -> None:
    # Given a link to a gig that does not exist
    # When a buyer follows it
    page.goto(f"{local_stack.frontend_url}/gig.html?id=no-such-gig")

    # Then the page says so, with no gig or form on show...
    status = page.locator("#status")
    expect(status.get_by_role("heading", level=1)).to_have_text("We couldn't find that gig")
    expect(page.locator("#gig")).to_be_hidden()
    expect(page).to_have_title("Gig not found · Encore")
    # ...and its link leads back to the gigs on sale
    status.get_by_role("link", name="See all gigs").click()
    expect(page).to_have_url(f"{local_stack.frontend_url}/")
    expect(page.locator("#gig-list li.gig-card")).to_have_count(len(GIGS))


@dataclass
class Site:
    url: str
    api_url: str


@pytest.fixture
def frontend_with_api_down() -> Iterator[Site]:
    """The frontend, as the stack serves it, but pointing at an API port where nothing listens.

    The port stays bound (without listening) for the test, so connections to it are refused and no other
    process can take it meanwhile.
    """
    template = SamTemplate()
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    resources = LocalResources(template, session, template.parameters())
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        api_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        headers = security_headers(template, resources, api_origin=api_url)
        server = FrontendServer(api_url, headers, Console(io.StringIO()))
        server.start()
        try:
            yield Site(server.url, api_url)
        finally:
            server.stop()


@pytest.mark.parametrize("path", ["/", "/gig.html?id=queen-wembley-1986"], ids=["home", "gig"])
def test_when_the_api_is_down_the_page_says_it_cannot_reach_the_ticket_service(
    page: Page, frontend_with_api_down: Site, path: str
) -> None:
    # Given the ticket service is unreachable
    site = frontend_with_api_down
    # When a buyer opens a page
    page.goto(f"{site.url}{path}")

    # Then it alerts them, and offers to try again
    alert = page.get_by_role("alert").filter(has_text=CANT_REACH)
    expect(alert).to_be_visible()
    expect(alert).to_have_id("status")
    try_again = alert.get_by_role("button", name="Try again")
    expect(try_again).to_be_visible()
    # And trying again asks the API again (and, still down, says so again)
    with page.expect_request(lambda r: r.url.startswith(f"{site.api_url}/gigs")):
        try_again.click()
    expect(page.get_by_role("alert").filter(has_text=CANT_REACH)).to_be_visible()


@pytest.mark.parametrize(
    ("path", "focused"),
    [("/", "link"), ("/gig.html?id=queen-wembley-1986", "heading")],
    ids=["home", "gig"],
)
def test_once_trying_again_works_focus_moves_to_what_loaded(
    page: Page, local_stack: RunningStack, path: str, focused: str
) -> None:
    # Given the first request for gigs fails
    failed: list[str] = []

    def fail_once(route: Route) -> None:
        if failed:
            route.fallback()
            return
        failed.append(route.request.url)
        route.abort("connectionrefused")

    page.route("**/gigs**", fail_once)
    page.goto(f"{local_stack.frontend_url}{path}")

    # When the buyer tries again, and it works
    page.get_by_role("button", name="Try again").click()

    # Then focus is on what loaded (the first gig, or the gig's name), not on the emptied status line
    target = page.locator(".gig-card a").first if focused == "link" else page.get_by_role("heading", level=1)
    expect(target).to_be_focused()


def test_every_buy_form_control_is_labelled_and_a_keyboard_alone_can_buy_a_ticket(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a gig page
    _open_gig(page, local_stack, GIGS[3]["id"])

    # Then each control of the form is found by its label
    controls = [page.get_by_label(re.compile(f"^{re.escape(label)}")) for label in FORM_LABELS]
    for control, field in zip(controls, FORM_LABELS.values(), strict=True):
        expect(control).to_have_attribute("name", field)
    submit = page.get_by_role("button", name=re.compile("^Buy ticket for \\$"))

    # When the buyer goes through it with the keyboard only: Tab from field to field, typing, arrows, Space...
    email = _buyer_email()
    keys: dict[str, list[str]] = {
        "name": [*"Ada Lovelace"],
        "email": [*email],
        "nameOnCard": [*"A LOVELACE"],
        "cardNumber": [*VALID_CARD],
        "cardExpiryMonth": ["End"],  # 12
        "cardExpiryYear": ["ArrowDown", "ArrowDown"],  # next year
        "cardCVC": [*"123"],
        "disclaimerAccepted": ["Space"],
    }
    controls[0].focus()
    for control, field in zip(controls, FORM_LABELS.values(), strict=True):
        expect(control).to_be_focused()
        for key in keys[field]:
            page.keyboard.press(key)
        page.keyboard.press("Tab")
    # ...then presses Enter on the submit button, where Tab has led
    expect(submit).to_be_focused()
    expect(page.get_by_label("Month", exact=True)).to_have_value("12")
    expect(page.get_by_label("Year", exact=True)).to_have_value(str(_this_year() + 1))
    expect(controls[-1]).to_be_checked()
    page.keyboard.press("Enter")

    # Then the ticket is bought, and focus moves to the confirmation so it is read out
    success = page.locator("#purchase-success")
    expect(success).to_contain_text(email)
    expect(success).to_be_focused()


@pytest.mark.parametrize("path", ["/", f"/gig.html?id={GIGS[4]['id']}"], ids=["home", "gig"])
def test_the_pages_fit_a_320_pixel_wide_screen_without_scrolling_sideways(
    page: Page, local_stack: RunningStack, path: str
) -> None:
    # Given a small phone's screen
    page.set_viewport_size({"width": 320, "height": 640})

    # When a page has loaded (on the gig page, with every field of the form showing an error)
    page.goto(f"{local_stack.frontend_url}{path}")
    if path == "/":
        expect(page.locator("#gig-list li.gig-card")).to_have_count(len(GIGS))
    else:
        expect(page.get_by_role("heading", level=1)).to_have_text(GIGS[4]["bandName"])
        _submit(page)
        expect(page.locator("[aria-invalid='true']")).to_have_count(len(FORM_LABELS))

    # Then nothing is wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def _tickets_left_text(count: int) -> str:
    return "Sold out" if count == 0 else f"{count:,} {'ticket' if count == 1 else 'tickets'} left"


def test_each_gig_card_and_gig_page_shows_the_tickets_left_and_a_purchase_takes_one(
    page: Page, local_stack: RunningStack
) -> None:
    # Given the seats the gigs table has not sold yet
    gig = GIGS[5]
    left = {g["id"]: _tickets_left(local_stack, g["id"]) for g in GIGS}

    # When a buyer opens the home page, then every card says how many tickets are left
    page.goto(f"{local_stack.frontend_url}/")
    cards = page.locator("#gig-list li.gig-card")
    expect(cards).to_have_count(len(GIGS))
    for g in GIGS:
        card = cards.filter(has=page.get_by_role("link", name=g["bandName"], exact=True))
        expect(card.locator("[data-slot='ticketsLeft']")).to_have_text(_tickets_left_text(left[g["id"]]))

    # And the gig's own page says it too
    page.locator("#gig-list li.gig-card").get_by_role("link", name=gig["bandName"], exact=True).click()
    tickets_left = page.locator("#gig [data-slot='ticketsLeft']")
    expect(tickets_left).to_have_text(_tickets_left_text(left[gig["id"]]))

    # When the buyer buys a ticket
    _fill_order(page, _buyer_email())
    _submit(page)
    expect(page.locator("#ticket-id")).to_have_text(UUID4)

    # Then the page counts one ticket fewer, and still does once reloaded
    expect(tickets_left).to_have_text(_tickets_left_text(left[gig["id"]] - 1))
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(gig["bandName"])
    expect(tickets_left).to_have_text(_tickets_left_text(left[gig["id"]] - 1))


def test_a_sold_out_gig_says_sold_out_on_its_card_and_its_page_which_has_no_buy_form(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a gig with every seat sold
    gig = GIGS[6]
    with _sold_out(local_stack, gig["id"]):
        # When a buyer opens the home page, then its card says "Sold out"
        page.goto(f"{local_stack.frontend_url}/")
        card = page.locator("#gig-list li.gig-card").filter(
            has=page.get_by_role("link", name=gig["bandName"], exact=True)
        )
        expect(card).to_contain_text("Sold out")

        # And on its page, "Sold out" stands where the buy form was, with a way to other gigs
        card.get_by_role("link", name=gig["bandName"], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(gig["bandName"])
        expect(page.locator("#gig [data-slot='ticketsLeft']")).to_have_text("Sold out")
        sold_out = page.locator("#sold-out")
        expect(sold_out).to_contain_text("Every ticket for this gig has been sold.")
        expect(page.locator("#buy-form")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("^Buy ticket"))).to_have_count(0)
        expect(page.get_by_role("link", name="Buy a ticket")).to_be_hidden()
        expect(sold_out.get_by_role("link", name="See the gigs still on sale")).to_have_attribute("href", "./")


def test_a_gig_that_sells_out_before_the_buyer_submits_says_sold_out_in_place_of_the_form(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a buyer filling in the form of a gig with seats left
    gig = GIGS[7]
    _open_gig(page, local_stack, gig["id"])
    email = _buyer_email()
    _fill_order(page, email)
    # ...while the last seat goes to someone else
    with _sold_out(local_stack, gig["id"]):
        # When the buyer submits the order
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/purchase")) as answer:
            _submit(page)

        # Then the API said it was sold out, and the page says so, in focus, where the form was
        assert answer.value.status == 409
        sold_out = page.get_by_role("alert").filter(has_text="Sold out")
        expect(sold_out).to_have_id("sold-out")
        expect(sold_out).to_be_focused()
        expect(page.locator("#buy-form")).to_have_count(0)
        expect(page.locator("#gig [data-slot='ticketsLeft']")).to_have_text("Sold out")
        # ...and nothing was sold to the buyer
        assert _ledger_tickets_of(local_stack, email) == []


def test_a_double_click_on_buy_sends_one_order_and_the_buyer_gets_one_ticket_and_one_email(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a filled-in order
    _open_gig(page, local_stack, GIGS[8]["id"])
    posted = _purchases(page)
    email = _buyer_email()
    _fill_order(page, email)

    # When the buyer double-clicks "Buy"
    page.get_by_role("button", name=re.compile("^Buy ticket")).dblclick()

    # Then one ticket reaches "Email sent", the buyer's only ticket, emailed once
    _expect_one_ticket_emailed(page, local_stack, email)
    # ...from one order, with an Idempotency-Key
    (key,) = _keys(posted)
    assert key is not None
    assert UUID4.match(key)


def test_an_order_whose_answer_was_lost_is_sent_again_with_its_key_and_gets_the_same_ticket(
    page: Page, local_stack: RunningStack
) -> None:
    # Given an order that reaches the shop, whose answer the connection then loses
    posted, lost, email = _an_order_whose_answer_was_lost(page, local_stack)
    expect(page.locator("#form-errors")).to_be_focused()
    expect(page.locator("#buy-form")).to_be_visible()

    # When the buyer sends it again
    _submit(page)

    # Then the page shows the ticket the shop made the first time, emailed once, and no second one,
    # because both attempts carried the same Idempotency-Key
    _expect_the_first_ticket_under_one_key(page, local_stack, posted, lost, email)


def test_an_order_whose_answer_was_lost_keeps_its_key_when_the_buyer_leaves_and_comes_back(
    page: Page, local_stack: RunningStack
) -> None:
    # Given an order that reached the shop, whose answer the connection lost
    posted, lost, email = _an_order_whose_answer_was_lost(page, local_stack)

    # When the buyer goes to the home page, comes back, and sends the same order again
    page.get_by_role("link", name="All gigs").first.click()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(GIGS[9]["bandName"])
    # (the browser may refill the form it restores, but never the card's number or code)
    expect(page.get_by_label("Card number")).to_have_value("")
    expect(page.get_by_label("Security code")).to_have_value("")
    _fill_order(page, email)
    _submit(page)

    # Then the shop answers with the ticket it made the first time: one ticket, under one key
    _expect_the_first_ticket_under_one_key(page, local_stack, posted, lost, email)


def test_a_changed_order_is_sent_with_a_new_key(page: Page, local_stack: RunningStack) -> None:
    # Given an order the API refused for its address
    _open_gig(page, local_stack, GIGS[2]["id"])
    posted = _purchases(page)
    _fill_order(page, "ada@example.invalid")
    _submit(page)
    expect(page.locator("#email-error")).to_contain_text("special-use or reserved name")

    # When the buyer corrects the address and sends the order again
    email = _buyer_email()
    page.get_by_label("Email address").fill(email)
    _submit(page)

    # Then the corrected order is a new one, with a key of its own, and it buys the ticket
    expect(page.locator("#ticket-id")).to_have_text(UUID4)
    first, second = _keys(posted)
    assert first is not None
    assert second is not None
    assert first != second


def test_an_order_still_in_progress_is_asked_about_again_with_its_key_until_it_answers(
    page: Page, local_stack: RunningStack
) -> None:
    # Given the shop answers the first attempt with the API's "this key is still being processed"
    _open_gig(page, local_stack, GIGS[10]["id"])
    posted = _purchases(page)
    in_progress = {
        "message": "Idempotency-Key in use",
        "errors": [{"field": "Idempotency-Key", "message": "An order with this key is still being processed"}],
    }
    answered: list[int] = []

    def in_progress_once(route: Route) -> None:
        if not _is_order(route) or answered:
            route.fallback()
            return
        answered.append(409)
        headers = {"Retry-After": "1", "Access-Control-Allow-Origin": local_stack.frontend_url}
        route.fulfill(status=409, headers=headers, json=in_progress)

    page.route("**/purchase", in_progress_once)
    email = _buyer_email()
    _fill_order(page, email)

    # When the buyer submits the order once
    _submit(page)

    # Then the page asks again by itself, with the same key, and the buyer gets one ticket
    expect(page.locator("#ticket-id")).to_have_text(UUID4)
    first, second = _keys(posted)
    assert first is not None
    assert first == second
    assert answered == [409]
    _expect_one_ticket_emailed(page, local_stack, email)


def test_an_order_still_in_progress_after_a_few_tries_tells_the_buyer_to_send_it_again_later(
    page: Page, local_stack: RunningStack
) -> None:
    # Given the shop keeps answering that the order's key is still being processed
    _open_gig(page, local_stack, GIGS[13]["id"])
    posted = _purchases(page)

    def always_in_progress(route: Route) -> None:
        if not _is_order(route):
            route.fallback()
            return
        body = {"message": "Idempotency-Key in use", "errors": [{"field": "Idempotency-Key", "message": "In use"}]}
        headers = {"Retry-After": "1", "Access-Control-Allow-Origin": local_stack.frontend_url}
        route.fulfill(status=409, headers=headers, json=body)

    page.route("**/purchase", always_in_progress)
    _fill_order(page, _buyer_email())

    # When the buyer submits the order once
    _submit(page)

    # Then, after asking a few times, the page says so plainly and keeps the form
    summary = page.locator("#form-errors")
    expect(summary).to_contain_text("Your order is still being processed.")
    expect(summary).to_be_focused()
    expect(page.locator("#buy-form")).to_be_visible()
    # ...having asked only about this one order, under its one key
    keys = _keys(posted)
    assert len(keys) > 1
    assert len(set(keys)) == 1
    assert keys[0] is not None


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("PARKED", "we couldn't email your confirmation"),
        ("RELEASED", "This ticket's seat was given back"),
    ],
)
def test_a_ticket_whose_email_is_refused_or_whose_seat_is_released_says_so_in_words(
    page: Page, local_stack: RunningStack, status: str, words: str
) -> None:
    # Given the ticket look-ups answer a status the local shop does not reach by itself
    def with_status(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "status": status})

    page.route("**/tickets/*", with_status)
    _open_gig(page, local_stack, GIGS[11]["id"])

    # When a buyer buys a ticket
    _fill_order(page, _buyer_email())
    _submit(page)

    # Then the confirmation says what became of it
    ticket_status = page.locator("#ticket-status")
    expect(ticket_status).to_have_attribute("data-status", status)
    expect(ticket_status).to_contain_text(words)


def test_the_confirmation_and_the_sold_out_notice_fit_a_320_pixel_wide_screen(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a small phone's screen
    page.set_viewport_size({"width": 320, "height": 640})

    # When a buyer's ticket has reached "Email sent", then nothing is wider than the screen
    _open_gig(page, local_stack, GIGS[12]["id"])
    _fill_order(page, _buyer_email())
    _submit(page)
    expect(page.locator("#ticket-status")).to_contain_text("Email sent")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    # When a gig is sold out, then neither is its page
    with _sold_out(local_stack, GIGS[6]["id"]):
        _open_gig(page, local_stack, GIGS[6]["id"])
        expect(page.locator("#sold-out")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_buyer_who_reloads_after_buying_sees_that_ticket_again_not_a_form_that_buys_another(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a buyer who has bought a ticket
    email = _buyer_email()
    posted = _purchases(page)
    ticket_id = _buy(page, local_stack, GIGS[3]["id"], email)

    # When the page is reloaded, or left and come back to
    page.reload()

    # Then it shows that ticket's confirmation and status (the address as the API masks it), and no form
    expect(page.locator("#ticket-id")).to_have_text(ticket_id)
    expect(page.locator("#ticket-status")).to_contain_text("Email sent")
    expect(page.locator("#ticket-status")).to_contain_text(f"{email[0]}***@example.com")
    expect(page.locator("#buy-form")).to_have_count(0)
    page.get_by_role("link", name="All gigs").first.click()
    page.go_back()
    expect(page.locator("#ticket-id")).to_have_text(ticket_id)

    # And only "Buy another ticket" brings the form back, for an order of its own
    page.get_by_role("button", name="Buy another ticket").click()
    expect(page.locator("#buy-form")).to_be_visible()
    _fill_order(page, email)
    _submit(page)
    expect(page.locator("#ticket-id")).not_to_have_text(ticket_id)
    expect(page.locator("#ticket-id")).to_have_text(UUID4)
    assert len(set(_keys(posted))) == 2
    assert len(_ledger_tickets_of(local_stack, email)) == 2


def test_a_persian_name_written_with_a_zero_width_non_joiner_buys_a_ticket(
    page: Page, local_stack: RunningStack
) -> None:
    # Given an order whose name is written as Persian writes it, a non-joiner inside the word (Ali-Akbar)
    _open_gig(page, local_stack, GIGS[5]["id"])
    _fill_order(page, _buyer_email())
    page.get_by_label("Full name").fill("\u0639\u0644\u06cc\u200c\u0627\u06a9\u0628\u0631")

    # When the buyer submits it
    _submit(page)

    # Then the form lets it through, as the shop does, and the shop sells the ticket
    expect(page.locator("#purchase-success")).to_be_visible()


def test_gig_images_from_another_site_are_not_requested_and_their_placeholders_show(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a gig whose poster and map point at another site (one protocol-relative)
    gig = GIGS[4]
    elsewhere: list[str] = []
    page.on("request", lambda request: elsewhere.append(request.url) if "evil.example" in request.url else None)

    def from_elsewhere(route: Route) -> None:
        answer = route.fetch()
        images = {"image": "//evil.example/poster.png", "collectionPointMap": "https://evil.example/map.png"}
        route.fulfill(response=answer, json={**answer.json(), **images})

    page.route(f"**/gigs/{gig['id']}", from_elsewhere)

    # When the buyer opens its page
    _open_gig(page, local_stack, gig["id"])

    # Then neither image is asked for, and both give way to their placeholders
    for slot in ("image", "collectionPointMap"):
        expect(page.locator(f"[data-slot-image='{slot}']")).to_be_hidden()
    assert elsewhere == []


def test_a_buyer_whose_ticket_was_the_last_still_sees_it_on_reload_not_sold_out(
    page: Page, local_stack: RunningStack
) -> None:
    # Given a buyer who has bought a ticket for a gig that has since sold out
    gig = GIGS[12]
    ticket_id = _buy(page, local_stack, gig["id"], _buyer_email())

    def sold_out_since(route: Route) -> None:
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "ticketsLeft": 0})

    page.route(f"**/gigs/{gig['id']}", sold_out_since)

    # When the page is reloaded
    page.reload()

    # Then the buyer's ticket stands where the sold-out notice would, and the page counts the gig sold out
    expect(page.locator("#ticket-id")).to_have_text(ticket_id)
    expect(page.locator("#sold-out")).to_have_count(0)
    expect(page.locator("[data-slot='ticketsLeft']").first).to_have_text("Sold out")
