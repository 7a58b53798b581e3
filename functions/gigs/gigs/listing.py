"""The catalogue as the API shows it: every gig soonest first, or one gig by its id."""

import re
from typing import Protocol

from gigs.models import Gig

# What a gig id looks like (queen-wembley-1986); anything else cannot name a gig, and is not looked up.
_GIG_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_GIG_ID_LENGTH = 100


class GigNotFound(Exception):
    """No gig has this id."""


class CatalogueUnavailable(Exception):
    """The catalogue could not be read; the client may retry."""


class Catalogue(Protocol):
    def all_gigs(self) -> list[Gig]: ...

    def find(self, gig_id: str) -> Gig | None: ...


def list_gigs(catalogue: Catalogue) -> list[Gig]:
    return sorted(catalogue.all_gigs(), key=lambda gig: (gig.date, gig.id))


def get_gig(catalogue: Catalogue, gig_id: str) -> Gig:
    if len(gig_id) > MAX_GIG_ID_LENGTH or not _GIG_ID.fullmatch(gig_id):
        raise GigNotFound
    gig = catalogue.find(gig_id)
    if gig is None:
        raise GigNotFound
    return gig
