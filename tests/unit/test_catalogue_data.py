"""data/gigs.json is what the catalogue is seeded with: every gig must be one the API can serve."""

from gigs.models import Gig
from tools.catalogue import load_gigs
from tools.sam_template import ROOT

GIGS = load_gigs()


def test_there_are_at_least_twelve_gigs_with_unique_ids() -> None:
    ids = [gig["id"] for gig in GIGS]

    assert len(ids) >= 12
    assert len(set(ids)) == len(ids)


def test_every_gig_has_exactly_the_fields_the_api_serves_and_all_its_seats_left_before_a_sale() -> None:
    for gig in GIGS:
        assert Gig.from_item(gig).to_json() == {**gig, "ticketsLeft": gig["capacity"]}


def test_capacities_are_the_venues_real_ones() -> None:
    capacity = {gig["id"]: gig["capacity"] for gig in GIGS}

    assert capacity["beatles-rooftop-london-1969"] == 60
    assert capacity["queen-wembley-1986"] == 72_000


def test_capacity_is_a_number_and_price_a_two_decimal_string() -> None:
    for gig in GIGS:
        assert isinstance(gig["capacity"], int)
        whole, _, cents = gig["price"].partition(".")
        assert whole.isdigit()
        assert len(cents) == 2
        assert cents.isdigit()


def test_every_image_the_catalogue_names_ships_with_the_frontend() -> None:
    for gig in GIGS:
        for image in (gig["image"], gig["collectionPointMap"]):
            assert (ROOT / "frontend" / image).is_file(), image
