"""Placing an order, and finishing orders that were left half-done.

Order of operations: validate (before this module) -> take a seat and record the ticket, in one step ->
queue the confirmation -> answer 202. If the confirmation cannot be queued, the seat is given back and the
ticket released before the buyer hears 503; so is a seat whose step may have committed although its answer
was lost. If the function dies between the seat and the queue, the ticket stays RESERVED in the ledger and
`requeue_unconfirmed` (the scheduled reconciler) queues it later.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from uuid import UUID, uuid4

from purchase.models import Buyer, GigDetails, GigOnSale, Ticket, TicketMessage

if TYPE_CHECKING:  # the reconciler shares this module and never validates an order
    from purchase.request import PurchaseRequest

Clock = Callable[[], datetime]

# A ticket's statuses, as the ledger records them (the worker records CONFIRMED and PARKED).
RESERVED = "RESERVED"
RELEASED = "RELEASED"


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- Domain errors: app.py maps each to its HTTP answer ---------------------------------------------------


class GigNotFound(Exception):
    def __init__(self, gig_id: str) -> None:
        super().__init__("no gig with this id")
        self.gig_id = gig_id


class SoldOut(Exception):
    def __init__(self, gig_id: str) -> None:
        super().__init__("sold out")
        self.gig_id = gig_id


class KeyReused(Exception):
    """The Idempotency-Key was first used for a different order."""


class ServiceUnavailable(Exception):
    """A dependency (catalogue, ledger or queue) failed: the order was not taken, the buyer may retry."""


class OutcomeUnknown(ServiceUnavailable):
    """A ledger write failed without DynamoDB saying it was cancelled or refused: it may have committed all the
    same (an answer lost to a timeout, on any of botocore's attempts, or an internal error after the commit)."""


# --- What the logic needs from the outside world -----------------------------------------------------------


@dataclass(frozen=True)
class KeyClaim:
    """An order's Idempotency-Key, and the fingerprint of the order it was first used for."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class LedgerEntry:
    ticket: Ticket
    status: str
    requeues: int  # how often the reconciler has queued it again


class Catalogue(Protocol):
    def find(self, gig_id: str) -> GigOnSale | None: ...


class Ledger(Protocol):
    """The ticket ledger (TicketsTable), with the seats it sells (the gigs' sold counts)."""

    def reserve(self, ticket: Ticket, gig: GigOnSale, claim: KeyClaim | None, deadline: "Deadline") -> Ticket:
        """Take a seat and record `ticket`, atomically; return the ticket recorded.

        That is `ticket`, or, when `claim`'s key already holds a ticket for the same order, that earlier
        ticket (and no second seat). Raises SoldOut, GigNotFound, KeyReused or ServiceUnavailable: OutcomeUnknown
        when the step may have committed. Tries again (a conflict, a transaction still in progress) only while
        `deadline` allows a call.
        """

    def release(self, ticket: Ticket, claim: KeyClaim | None, deadline: "Deadline") -> bool:
        """Give the seat back and mark the ticket RELEASED; False if the worker is already emailing it."""

    def holds(self, claim: KeyClaim) -> bool:
        """Whether `claim`'s key already holds a ticket (for this order or another)."""


class UnsettledTickets(Protocol):
    """What the reconciler reads and writes in the ledger."""

    def unconfirmed(self, now: datetime) -> Iterable[UUID]:
        """Tickets still RESERVED whose reconciliation is due."""

    def find(self, ticket_id: UUID) -> LedgerEntry | None:
        """The ticket as the ledger holds it now (a consistent read)."""

    def postpone(self, entry: LedgerEntry, now: datetime) -> bool:
        """Push the ticket's next reconciliation back (with backoff); False if it changed since `entry`."""


class TicketQueue(Protocol):
    def send(self, message: TicketMessage) -> None: ...


@dataclass(frozen=True)
class Deadline:
    """The time the invocation has left, and the longest one call to AWS can take (its timeouts and retries).

    A purchase cut off by the function's timeout after taking a seat would leave the seat taken and the
    buyer with no answer: a seat is only taken with time left to queue its confirmation or give it back.
    """

    seconds_left: Callable[[], float]
    call_seconds: float

    def allows(self, calls: int) -> bool:
        return self.seconds_left() >= calls * self.call_seconds

    def keeping(self, calls: int) -> "Deadline":
        """This deadline with `calls` calls' time set aside for what comes after."""
        return Deadline(lambda: self.seconds_left() - calls * self.call_seconds, self.call_seconds)


NO_DEADLINE = Deadline(seconds_left=lambda: math.inf, call_seconds=0)


# --- Placing an order --------------------------------------------------------------------------------------


def place_order(
    order: "PurchaseRequest",
    catalogue: Catalogue,
    ledger: Ledger,
    queue: TicketQueue,
    claim: KeyClaim | None = None,
    clock: Clock = utc_now,
    deadline: Deadline = NO_DEADLINE,
) -> Ticket:
    """Sell the buyer a seat and queue the confirmation; return the ticket.

    The card was validated with the order and goes no further: neither the ledger nor the message holds it.
    """
    gig = catalogue.find(order.gig_id)
    if gig is None:
        raise GigNotFound(order.gig_id)
    if gig.tickets_left == 0 and not (claim and ledger.holds(claim)):
        # The catalogue read may be a moment stale; the ledger's step is the authority. Saying no here
        # saves a failed transaction's writes for every buyer still trying once a gig has sold out. Not to
        # a retry whose key holds a ticket: its first attempt may have taken the last seat.
        raise SoldOut(order.gig_id)
    proposed = Ticket(
        ticket_id=uuid4(),
        gig_id=gig.details.id,
        buyer=Buyer(name=order.name, email=order.email),
        price=gig.price,
        created_at=clock(),
    )
    if claim:
        # Powertools deletes its record of a keyed order that fails (saves it, when it succeeds): a call after
        # ours, whose time is set aside here.
        deadline = deadline.keeping(calls=1)
    if not deadline.allows(calls=3):  # take the seat, queue the confirmation, or give the seat back
        raise ServiceUnavailable("too little time left to sell a seat")
    try:
        ticket = ledger.reserve(proposed, gig, claim, deadline.keeping(calls=2))
    except OutcomeUnknown:
        # The seat may be taken all the same: give it back, so that the buyer's 503 leaves nothing taken. If
        # the transaction never committed, there is no ticket to release and the release is refused.
        ledger.release(proposed, claim, deadline)
        raise
    try:
        if not deadline.allows(calls=2):
            raise ServiceUnavailable("too little time left to queue the confirmation")
        # Also for the key's earlier ticket: its first attempt may have died before this step, and the
        # worker sends nothing twice for one ticket.
        queue.send(TicketMessage.confirming(ticket, gig.details))
    except ServiceUnavailable:
        if not ledger.release(ticket, claim, deadline):
            return ticket  # the worker already has it: the seat is sold after all
        raise
    return ticket


# --- Finishing what was left half-done ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    requeued: list[UUID]
    settled: int  # confirmed, parked or released since the index was read
    orphaned: list[UUID]  # RESERVED, but their gig is gone from the catalogue
    failed: list[UUID]  # the ledger, catalogue or queue failed for them: tried again in a later run
    cut_short: bool = False  # time ran out before every due ticket was seen: the next run goes on
    index_failed: bool = False  # the index could not be read to its end: the next run goes on


# What one ticket can take: read it, read its gig, postpone it, queue its message.
CALLS_PER_TICKET = 4
# What became of one ticket in a run.
REQUEUED, SETTLED, ORPHANED, FAILED = "requeued", "settled", "orphaned", "failed"


def requeue_unconfirmed(
    catalogue: Catalogue,
    ledger: UnsettledTickets,
    queue: TicketQueue,
    clock: Clock = utc_now,
    deadline: Deadline = NO_DEADLINE,
) -> Reconciliation:
    """Queue the confirmation of every ticket left RESERVED past its grace period.

    A ticket is left RESERVED when the purchase died between taking the seat and queueing the message, or
    when its message went round the queue without the worker settling it. The worker is idempotent on the
    ticket id, so a second message for a ticket that was in fact queued costs nothing.
    """
    now = clock()
    seen: dict[str, list[UUID]] = {REQUEUED: [], SETTLED: [], ORPHANED: [], FAILED: []}
    gigs: dict[str, GigDetails | None] = {}
    cut_short = index_failed = False
    try:
        for ticket_id in ledger.unconfirmed(now):
            if not deadline.allows(calls=CALLS_PER_TICKET):
                # In an outage every call may take its longest: stop in time to report what this run did.
                cut_short = True
                break
            seen[_requeue(ticket_id, catalogue, ledger, queue, now, gigs)].append(ticket_id)
    except ServiceUnavailable:  # reading the index itself: each ticket's own failures are caught in _requeue
        index_failed = True
    return Reconciliation(
        seen[REQUEUED], len(seen[SETTLED]), seen[ORPHANED], seen[FAILED], cut_short=cut_short, index_failed=index_failed
    )


def _requeue(
    ticket_id: UUID,
    catalogue: Catalogue,
    ledger: UnsettledTickets,
    queue: TicketQueue,
    now: datetime,
    gigs: dict[str, GigDetails | None],
) -> str:
    """Queue one ticket's confirmation again; say how it went. Its failure is its own: the run goes on."""
    try:
        entry = ledger.find(ticket_id)
        if entry is None or entry.status != RESERVED:
            return SETTLED  # the index lags the table a little
        ticket = entry.ticket
        if ticket.gig_id not in gigs:  # one catalogue read per gig and run
            gig = catalogue.find(ticket.gig_id)
            gigs[ticket.gig_id] = gig.details if gig else None
        # Postponed first: a second reconciler run (or this one retried) cannot queue it again this round.
        if not ledger.postpone(entry, now):
            return SETTLED
        details = gigs[ticket.gig_id]
        if details is None:
            return ORPHANED  # nothing to put in the email; someone must look at it
        queue.send(TicketMessage.confirming(ticket, details))
    except ServiceUnavailable:
        return FAILED
    return REQUEUED
