"""data/gigs.json, the catalogue the shop starts with, and writing it into a gigs table."""

import json
from pathlib import Path
from typing import Any

from tools.local.console import mask_email
from tools.sam_template import ROOT

GIGS_PATH = ROOT / "data" / "gigs.json"


def load_gigs(path: Path = GIGS_PATH) -> list[dict[str, Any]]:
    gigs: list[dict[str, Any]] = json.loads(path.read_text())
    return gigs


def seed(table: Any, gigs: list[dict[str, Any]]) -> int:
    """Write every gig into `table` (a boto3 DynamoDB Table); safe to run again, on a live stack too.

    Each gig's catalogue fields are set; its seat counter `sold` is created at 0 and never touched after:
    reseeding a shop that is selling must not hand its sold seats out again.
    """
    for gig in gigs:
        fields = {key: value for key, value in gig.items() if key != "id"}
        names = {f"#f{n}": key for n, key in enumerate(fields)}
        values = {f":v{n}": value for n, value in enumerate(fields.values())}
        assignments = [f"{name} = :v{n}" for n, name in enumerate(names)]
        table.update_item(
            Key={"id": gig["id"]},
            UpdateExpression="SET " + ", ".join([*assignments, "sold = if_not_exists(sold, :zero)"]),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":zero": 0},
        )
    return len(gigs)


SAMPLE_BATCH = ROOT / "events" / "worker-batch.json"


def sample_tickets(batch: Path = SAMPLE_BATCH) -> list[dict[str, Any]]:
    """The tickets the sample worker events confirm, as the purchase records them in the ledger.

    `make invoke` and the sample-event tests record them, so that `events/worker-batch*.json` confirm tickets
    the ledger holds (the worker emails no other) and the reconciler's sample run has tickets to requeue.
    """
    prices = {gig["id"]: gig["price"] for gig in load_gigs()}
    tickets = []
    for record in json.loads(batch.read_text())["Records"]:
        message = json.loads(record["body"])
        buyer = message["buyer"]
        tickets.append(
            {
                "id": message["ticketId"],
                "gigId": message["gig"]["id"],
                "buyerName": buyer["name"],
                "buyerEmail": buyer["email"],
                "maskedEmail": mask_email(buyer["email"]),
                "price": prices[message["gig"]["id"]],
                "createdAt": message["purchasedAt"],
                "status": "RESERVED",
                # Long past: the reconciler's sample run requeues them.
                "reconcileAfter": message["purchasedAt"],
            }
        )
    return tickets


def record_sample_tickets(tickets_table: Any, gigs_table: Any) -> int:
    """Record `sample_tickets()` as RESERVED, each with its seat taken (boto3 Table resources)."""
    tickets = sample_tickets()
    for ticket in tickets:
        tickets_table.put_item(Item=ticket)
        gigs_table.update_item(
            Key={"id": ticket["gigId"]},
            UpdateExpression="SET sold = if_not_exists(sold, :zero) + :one",
            ExpressionAttributeValues={":zero": 0, ":one": 1},
        )
    return len(tickets)
