"""`make invoke` (`python -m tools.local.invoke`) on every sample event, against a fresh embedded AWS each.

A new file in events/ without an expectation here fails the suite, so `make invoke EVENT=events/<any>.json`
is always known to behave. The invocations run two at a time (each starts its own embedded AWS and
function process), and each test reads its own.
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EVENTS, load_event
from tools.catalogue import load_gigs, sample_tickets
from tools.sam_template import ROOT

# Each invocation imports moto, provisions the template and cold-starts a function: two at once keep a
# 2-core machine busy without starving any of them past the 10 s init limit.
AT_ONCE = 2
SAMPLE_EVENTS = sorted(path.name for path in EVENTS.glob("*.json") if path.name != "env.json")


@dataclass
class Invoked:
    result: subprocess.CompletedProcess[str]
    outbox: Path

    @property
    def response(self) -> Any:
        return json.loads(self.result.stdout)

    def emails_about(self, ticket_id: str) -> list[Path]:
        return list(self.outbox.glob(f"*-{ticket_id}.eml"))


def _status(status: int) -> Callable[[Invoked], None]:
    def check(invoked: Invoked) -> None:
        assert invoked.response["statusCode"] == status, invoked.response

    return check


def _accepted(invoked: Invoked) -> None:
    assert invoked.response["statusCode"] == 202, invoked.response
    assert json.loads(invoked.response["body"])["ticketId"]
    assert '"message":"Ticket accepted"' in invoked.result.stderr


def _the_catalogue(invoked: Invoked) -> None:
    assert invoked.response["statusCode"] == 200
    assert {gig["id"] for gig in json.loads(invoked.response["body"])} == {gig["id"] for gig in load_gigs()}


def _the_gig(invoked: Invoked) -> None:
    assert invoked.response["statusCode"] == 200
    assert json.loads(invoked.response["body"])["id"] == load_event("gig-get.json")["pathParameters"]["id"]


def _the_ticket(invoked: Invoked) -> None:
    assert invoked.response["statusCode"] == 200
    ticket = json.loads(invoked.response["body"])
    assert (ticket["ticketId"], ticket["status"]) == (
        load_event("ticket-get.json")["pathParameters"]["ticketId"],
        "RESERVED",
    )


def _every_sample_ticket_requeued(invoked: Invoked) -> None:
    assert invoked.response == {"requeued": len(sample_tickets()), "settled": 0, "orphaned": 0, "failed": 0}


def _every_record_emailed(invoked: Invoked) -> None:
    assert invoked.response == {"batchItemFailures": []}
    for record in load_event("worker-batch.json")["Records"]:
        assert len(invoked.emails_about(json.loads(record["body"])["ticketId"])) == 1


def _the_poison_record_reported_and_the_others_emailed(invoked: Invoked) -> None:
    first, poison, last = load_event("worker-batch-poison.json")["Records"]
    assert invoked.response == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    for record in (first, last):
        assert len(invoked.emails_about(json.loads(record["body"])["ticketId"])) == 1


EXPECTED: dict[str, tuple[str, Callable[[Invoked], None]]] = {
    "gig-get.json": ("GigsFunction", _the_gig),
    "gig-unknown.json": ("GigsFunction", _status(404)),
    "gigs-list.json": ("GigsFunction", _the_catalogue),
    "purchase-idempotent.json": ("PurchaseFunction", _accepted),
    "purchase-invalid-fields.json": ("PurchaseFunction", _status(422)),
    "purchase-malformed-json.json": ("PurchaseFunction", _status(400)),
    "purchase-unknown-gig.json": ("PurchaseFunction", _status(404)),
    "purchase-valid.json": ("PurchaseFunction", _accepted),
    "reconcile-scheduled.json": ("ReconcilerFunction", _every_sample_ticket_requeued),
    "ticket-get.json": ("TicketsFunction", _the_ticket),
    "ticket-unknown.json": ("TicketsFunction", _status(404)),
    "worker-batch-poison.json": ("WorkerFunction", _the_poison_record_reported_and_the_others_emailed),
    "worker-batch.json": ("WorkerFunction", _every_record_emailed),
}


def _invoke(function: str, event: str, outbox: Path) -> Invoked:
    """`make invoke FUNCTION=<function> EVENT=events/<event>`, with its own outbox."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.local.invoke", function, f"events/{event}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OUTBOX_DIR": str(outbox)},
        check=False,
    )
    return Invoked(result, outbox)


@pytest.fixture(scope="module")
def invoked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Invoked]:
    """Every sample event with an expectation, invoked on its function."""
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        futures = {
            event: pool.submit(_invoke, function, event, tmp_path_factory.mktemp(event.removesuffix(".json")))
            for event, (function, _) in EXPECTED.items()
        }
        return {event: future.result() for event, future in futures.items()}


@pytest.mark.parametrize("event", SAMPLE_EVENTS)
def test_make_invoke_runs_the_sample_event_on_its_function(event: str, invoked: dict[str, Invoked]) -> None:
    # Given the sample event's expectation
    assert event in EXPECTED, f"events/{event} has no expectation in {__name__}"
    run = invoked[event]

    # Then stdout is the function's response alone, its logs went to stderr, and it did what is expected
    assert run.result.returncode == 0, run.result.stderr
    assert "START RequestId: " in run.result.stderr
    assert "Warning: " not in run.result.stderr, run.result.stderr
    EXPECTED[event][1](run)
