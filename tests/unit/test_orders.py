"""Placing an order and reconciling tickets, with the catalogue, the ledger and the queue replaced by fakes.

The fakes keep the ledger's rules (a seat only below capacity; one ticket per Idempotency-Key; a ticket the
worker has claimed cannot be released); the real ledger is held to the same rules against moto in
tests/integration.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from purchase.models import GigDetails, GigOnSale, Ticket, TicketMessage
from purchase.orders import (
    Deadline,
    GigNotFound,
    KeyClaim,
    KeyReused,
    LedgerEntry,
    OutcomeUnknown,
    ServiceUnavailable,
    SoldOut,
    place_order,
    requeue_unconfirmed,
)
from purchase.request import PurchaseRequest
from tests.conftest import VALID, without_random_tokens

GIG = GigDetails(
    id="queen-wembley-1986",
    band_name="Queen",
    venue="Wembley Stadium",
    city="London",
    date=date(2028, 7, 12),
    collection_point="North gate",
    collection_time="16:30",
)
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
GRACE = timedelta(minutes=10)


class Catalogue:
    def __init__(self, capacity: int = 100, sold: int = 0) -> None:
        self.gig = GigOnSale(details=GIG, price="1156.00", capacity=capacity, sold=sold)

    def find(self, gig_id: str) -> GigOnSale | None:
        return self.gig if gig_id == GIG.id else None


@dataclass
class Record:
    ticket: Ticket
    status: str = "RESERVED"
    reconcile_after: datetime | None = None
    requeues: int = 0
    claimed: bool = False


@dataclass
class Ledger:
    """The ledger's rules, in memory. `catalogue` holds the seat counter, as GigsTable does."""

    catalogue: Catalogue
    tickets: dict[UUID, Record] = field(default_factory=dict)
    keys: dict[str, tuple[UUID, str]] = field(default_factory=dict)

    def reserve(self, ticket: Ticket, gig: GigOnSale, claim: KeyClaim | None, deadline: Deadline) -> Ticket:
        if claim and claim.key in self.keys:
            earlier, fingerprint = self.keys[claim.key]
            if fingerprint != claim.fingerprint:
                raise KeyReused
            return self.tickets[earlier].ticket
        stock = self.catalogue.gig
        if stock.sold >= stock.capacity:
            raise SoldOut(gig.details.id)
        self.catalogue.gig = stock.model_copy(update={"sold": stock.sold + 1})
        self.tickets[ticket.ticket_id] = Record(ticket, reconcile_after=ticket.created_at + GRACE)
        if claim:
            self.keys[claim.key] = (ticket.ticket_id, claim.fingerprint)
        return ticket

    def release(self, ticket: Ticket, claim: KeyClaim | None, deadline: Deadline) -> bool:
        record = self.tickets.get(ticket.ticket_id)
        if record is None or record.status != "RESERVED" or record.claimed:
            return False
        record.status, record.reconcile_after = "RELEASED", None
        stock = self.catalogue.gig
        self.catalogue.gig = stock.model_copy(update={"sold": stock.sold - 1})
        if claim:
            del self.keys[claim.key]
        return True

    def holds(self, claim: KeyClaim) -> bool:
        return claim.key in self.keys

    def unconfirmed(self, now: datetime) -> Iterator[UUID]:
        for ticket_id, record in list(self.tickets.items()):
            if record.reconcile_after is not None and record.reconcile_after <= now:
                yield ticket_id

    def find(self, ticket_id: UUID) -> LedgerEntry | None:
        record = self.tickets.get(ticket_id)
        return LedgerEntry(record.ticket, record.status, record.requeues) if record else None

    def postpone(self, entry: LedgerEntry, now: datetime) -> bool:
        record = self.tickets[entry.ticket.ticket_id]
        if record.status != "RESERVED" or record.requeues != entry.requeues:
            return False
        record.requeues += 1
        record.reconcile_after = now + GRACE * 2 ** (entry.requeues + 1)
        return True

    def confirm(self, ticket_id: UUID) -> None:
        record = self.tickets[ticket_id]
        record.status, record.reconcile_after = "CONFIRMED", None


class Queue:
    def __init__(self, down: bool = False, refusing: int = 0) -> None:
        self.sent: list[TicketMessage] = []
        self.down = down
        self.refusing = refusing  # how many sends fail before it takes messages
        self.before_failing: list[Callable[[], None]] = []  # runs when a send fails (a worker racing the release)

    def send(self, message: TicketMessage) -> None:
        if self.down or self.refusing:
            self.refusing = max(self.refusing - 1, 0)
            for action in self.before_failing:
                action()
            raise ServiceUnavailable("queue down")
        self.sent.append(message)


def order(**changes: object) -> PurchaseRequest:
    return PurchaseRequest.model_validate({**VALID, **changes}, context={"today": date(2026, 11, 23)})


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue()


@pytest.fixture
def ledger(catalogue: Catalogue) -> Ledger:
    return Ledger(catalogue)


# --- Placing an order ------------------------------------------------------------------------------------


def test_an_order_takes_a_seat_records_the_ticket_and_queues_its_confirmation(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    queue = Queue()

    ticket = place_order(order(), catalogue, ledger, queue, clock=lambda: NOW)

    assert ticket.ticket_id.version == 4
    assert (ticket.gig_id, ticket.buyer.name, ticket.buyer.email, ticket.price, ticket.created_at) == (
        GIG.id,
        "Ada Lovelace",
        "ada@example.com",
        "1156.00",
        NOW,
    )
    assert ledger.tickets[ticket.ticket_id].status == "RESERVED"
    assert catalogue.gig.sold == 1
    assert queue.sent == [TicketMessage.confirming(ticket, GIG)]


def test_each_order_without_a_key_gets_its_own_ticket_and_seat(catalogue: Catalogue, ledger: Ledger) -> None:
    queue = Queue()

    first = place_order(order(), catalogue, ledger, queue)
    second = place_order(order(), catalogue, ledger, queue)

    assert first.ticket_id != second.ticket_id
    assert catalogue.gig.sold == 2


def test_the_queued_message_carries_no_card_data(catalogue: Catalogue, ledger: Ledger) -> None:
    queue = Queue()

    place_order(order(), catalogue, ledger, queue)

    body = without_random_tokens(queue.sent[0].model_dump_json(by_alias=True))
    for secret in (VALID["cardNumber"], VALID["cardCVC"], VALID["nameOnCard"], "card"):
        assert secret not in body


def test_an_unknown_gig_takes_nothing_and_queues_nothing(catalogue: Catalogue, ledger: Ledger) -> None:
    queue = Queue()

    with pytest.raises(GigNotFound):
        place_order(order(gigId="no-such-gig"), catalogue, ledger, queue)

    assert (ledger.tickets, queue.sent) == ({}, [])


def test_a_sold_out_gig_records_nothing_and_queues_nothing() -> None:
    catalogue = Catalogue(capacity=1)
    ledger, queue = Ledger(catalogue), Queue()
    place_order(order(), catalogue, ledger, queue)

    with pytest.raises(SoldOut):
        place_order(order(), catalogue, ledger, queue)

    assert (len(ledger.tickets), len(queue.sent), catalogue.gig.sold) == (1, 1, 1)


def test_a_catalogue_that_already_shows_no_seats_is_sold_out_without_asking_the_ledger() -> None:
    catalogue = Catalogue(capacity=5, sold=5)

    class NoLedger(Ledger):
        def reserve(self, ticket: Ticket, gig: GigOnSale, claim: KeyClaim | None, deadline: Deadline) -> Ticket:
            raise AssertionError("a sold-out gig should not cost a transaction")

    with pytest.raises(SoldOut):
        place_order(order(), catalogue, NoLedger(catalogue), Queue())


def test_when_the_queue_is_down_the_seat_is_given_back_and_the_ticket_released(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, Queue(down=True))

    (record,) = ledger.tickets.values()
    assert record.status == "RELEASED"
    assert catalogue.gig.sold == 0


def test_when_the_worker_got_the_ticket_before_the_release_the_order_stands(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    queue = Queue(down=True)

    def worker_claims_it() -> None:
        for record in ledger.tickets.values():
            record.claimed = True

    # The send timed out, yet SQS had the message, and the worker claimed the ticket before the release.
    queue.before_failing.append(worker_claims_it)

    ticket = place_order(order(), catalogue, ledger, queue)

    assert ledger.tickets[ticket.ticket_id].status == "RESERVED"
    assert catalogue.gig.sold == 1


class AnswerLost(Ledger):
    """A ledger whose reserve cannot tell how it ended: it did commit, or (`committed=False`) it did not."""

    def __init__(self, catalogue: Catalogue, committed: bool = True) -> None:
        super().__init__(catalogue)
        self.committed = committed

    def reserve(self, ticket: Ticket, gig: GigOnSale, claim: KeyClaim | None, deadline: Deadline) -> Ticket:
        if self.committed:
            super().reserve(ticket, gig, claim, deadline)
        raise OutcomeUnknown("read timeout")


def test_a_seat_taken_whose_answer_was_lost_is_given_back_before_the_buyer_hears_503(catalogue: Catalogue) -> None:
    ledger, queue, claim = AnswerLost(catalogue), Queue(), claim_for(order())

    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, queue, claim)

    (record,) = ledger.tickets.values()
    assert (record.status, queue.sent, catalogue.gig.sold) == ("RELEASED", [], 0)
    assert not ledger.holds(claim)  # the buyer's retry with the same key buys the seat afresh


def test_a_seat_step_that_never_committed_leaves_nothing_to_give_back(catalogue: Catalogue) -> None:
    ledger, queue = AnswerLost(catalogue, committed=False), Queue()

    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, queue)

    assert (ledger.tickets, queue.sent, catalogue.gig.sold) == ({}, [], 0)


def test_with_too_little_time_left_to_give_a_seat_back_no_seat_is_taken(catalogue: Catalogue, ledger: Ledger) -> None:
    queue = Queue()
    deadline = Deadline(seconds_left=lambda: 14.9, call_seconds=5)

    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, queue, deadline=deadline)

    assert (ledger.tickets, queue.sent, catalogue.gig.sold) == ({}, [], 0)


def test_with_a_key_a_seat_is_taken_only_with_time_left_for_powertools_record_after_ours(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    deadline = Deadline(seconds_left=lambda: 19.9, call_seconds=5)  # three calls, not four

    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, Queue(), claim_for(order()), deadline=deadline)
    assert (ledger.tickets, catalogue.gig.sold) == ({}, 0)

    place_order(order(), catalogue, ledger, Queue(), deadline=deadline)  # without a key, three are enough
    assert catalogue.gig.sold == 1


def test_when_time_runs_short_after_the_seat_is_taken_it_is_given_back_and_nothing_is_queued(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    queue = Queue()
    time_left = iter([15.0, 9.9])  # the reserve took five seconds
    deadline = Deadline(seconds_left=lambda: next(time_left), call_seconds=5)

    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, queue, deadline=deadline)

    (record,) = ledger.tickets.values()
    assert (record.status, queue.sent, catalogue.gig.sold) == ("RELEASED", [], 0)


# --- Idempotency-Key ---------------------------------------------------------------------------------------


def claim_for(request: PurchaseRequest, key: str = "key-1") -> KeyClaim:
    return KeyClaim(key, request.fingerprint())


def test_the_same_key_and_order_get_the_same_ticket_and_no_second_seat(catalogue: Catalogue, ledger: Ledger) -> None:
    queue = Queue()

    first = place_order(order(), catalogue, ledger, queue, claim_for(order()))
    again = place_order(order(), catalogue, ledger, queue, claim_for(order()))

    assert again.ticket_id == first.ticket_id
    assert catalogue.gig.sold == 1
    # Queued again: the first attempt may have died before queueing, and the worker sends once per ticket.
    assert [message.ticket_id for message in queue.sent] == [first.ticket_id, first.ticket_id]


def test_the_same_key_for_a_different_order_is_refused(catalogue: Catalogue, ledger: Ledger) -> None:
    queue = Queue()
    place_order(order(), catalogue, ledger, queue, claim_for(order()))

    with pytest.raises(KeyReused):
        place_order(order(email="eve@example.com"), catalogue, ledger, queue, claim_for(order(email="eve@example.com")))

    assert catalogue.gig.sold == 1


def test_a_retry_whose_first_attempt_took_the_last_seat_gets_that_ticket_not_sold_out() -> None:
    catalogue = Catalogue(capacity=1)
    ledger = Ledger(catalogue)
    first = place_order(order(), catalogue, ledger, Queue(), claim_for(order()))

    again = place_order(order(), catalogue, ledger, Queue(), claim_for(order()))

    assert again.ticket_id == first.ticket_id
    assert catalogue.gig.sold == 1


def test_a_new_key_for_a_sold_out_gig_is_sold_out_without_asking_for_a_seat() -> None:
    catalogue = Catalogue(capacity=1, sold=1)

    class NoSeats(Ledger):
        def reserve(self, ticket: Ticket, gig: GigOnSale, claim: KeyClaim | None, deadline: Deadline) -> Ticket:
            raise AssertionError("a sold-out gig should not cost a transaction")

    with pytest.raises(SoldOut):
        place_order(order(), catalogue, NoSeats(catalogue), Queue(), claim_for(order()))


def test_the_card_is_not_part_of_the_fingerprint_the_gig_and_the_buyer_are() -> None:
    assert order(cardNumber="4000056655665556").fingerprint() == order().fingerprint()
    assert order(gigId="the-who-leeds-1970").fingerprint() != order().fingerprint()
    assert order(name="Ada King").fingerprint() != order().fingerprint()


def test_a_key_whose_order_was_released_can_be_used_again(catalogue: Catalogue, ledger: Ledger) -> None:
    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, Queue(down=True), claim_for(order()))

    ticket = place_order(order(), catalogue, ledger, Queue(), claim_for(order()))

    assert ledger.tickets[ticket.ticket_id].status == "RESERVED"
    assert catalogue.gig.sold == 1


# --- Reconciling -------------------------------------------------------------------------------------------


def test_a_ticket_left_reserved_past_its_grace_period_is_queued_again(catalogue: Catalogue, ledger: Ledger) -> None:
    ticket = place_order(order(), catalogue, ledger, Queue(down=False), clock=lambda: NOW)
    queue = Queue()

    early = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: NOW + GRACE / 2)
    due = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: NOW + GRACE)

    assert early.requeued == []
    assert due.requeued == [ticket.ticket_id]
    assert queue.sent == [TicketMessage.confirming(ticket, GIG)]


def test_a_ticket_requeued_waits_twice_as_long_before_the_next_time(catalogue: Catalogue, ledger: Ledger) -> None:
    ticket = place_order(order(), catalogue, ledger, Queue(), clock=lambda: NOW)
    queue = Queue()
    first_time = NOW + GRACE

    requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: first_time)
    too_soon = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: first_time + GRACE)
    second_time = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: first_time + 2 * GRACE)

    assert too_soon.requeued == []
    assert second_time.requeued == [ticket.ticket_id]


def test_confirmed_and_released_tickets_are_left_alone(catalogue: Catalogue, ledger: Ledger) -> None:
    confirmed = place_order(order(), catalogue, ledger, Queue(), clock=lambda: NOW)
    ledger.confirm(confirmed.ticket_id)
    with pytest.raises(ServiceUnavailable):
        place_order(order(), catalogue, ledger, Queue(down=True), clock=lambda: NOW)
    queue = Queue()

    result = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: NOW + GRACE)

    assert (result.requeued, queue.sent) == ([], [])


def test_a_ticket_whose_gig_left_the_catalogue_is_reported_not_queued(catalogue: Catalogue, ledger: Ledger) -> None:
    ticket = place_order(order(), catalogue, ledger, Queue(), clock=lambda: NOW)
    queue = Queue()

    class EmptyCatalogue:
        def find(self, gig_id: str) -> GigOnSale | None:
            return None

    result = requeue_unconfirmed(EmptyCatalogue(), ledger, queue, clock=lambda: NOW + GRACE)

    assert (result.orphaned, queue.sent) == ([ticket.ticket_id], [])


def test_a_ticket_the_queue_refuses_is_reported_and_the_others_are_still_queued(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    tickets = [place_order(order(), catalogue, ledger, Queue(), clock=lambda: NOW) for _ in range(3)]
    queue = Queue(refusing=1)

    result = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: NOW + GRACE)

    assert result.failed == [tickets[0].ticket_id]
    assert result.requeued == [ticket.ticket_id for ticket in tickets[1:]]
    assert [message.ticket_id for message in queue.sent] == result.requeued


def test_a_run_whose_index_fails_part_way_reports_the_tickets_it_did_and_says_so(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    tickets = [place_order(order(), catalogue, ledger, Queue(), clock=lambda: NOW) for _ in range(3)]
    due = ledger.unconfirmed

    def index_failing_after_the_first(now: datetime) -> Iterator[UUID]:
        yield next(due(now))
        raise ServiceUnavailable("scan: next page refused")

    ledger.unconfirmed = index_failing_after_the_first  # type: ignore[method-assign]
    queue = Queue()

    result = requeue_unconfirmed(catalogue, ledger, queue, clock=lambda: NOW + GRACE)

    assert result.index_failed
    assert not result.cut_short
    assert result.requeued == [tickets[0].ticket_id]
    assert [message.ticket_id for message in queue.sent] == result.requeued


def test_a_run_short_of_time_stops_before_a_ticket_it_could_not_finish_and_says_so(
    catalogue: Catalogue, ledger: Ledger
) -> None:
    tickets = [place_order(order(), catalogue, ledger, Queue(), clock=lambda: NOW) for _ in range(3)]
    time_left = iter([30.0, 30.0, 19.9])  # seconds left before each ticket; each takes up to 4 calls of 5 s
    queue = Queue()

    result = requeue_unconfirmed(
        catalogue, ledger, queue, clock=lambda: NOW + GRACE, deadline=Deadline(lambda: next(time_left), 5)
    )

    assert result.cut_short
    assert result.requeued == [ticket.ticket_id for ticket in tickets[:2]]
    assert ledger.tickets[tickets[2].ticket_id].requeues == 0  # not touched: the next run takes it
