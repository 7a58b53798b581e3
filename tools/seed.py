"""Fill a deployed stack's gigs table from data/gigs.json: `make seed [STACK_NAME=ticket-shop]`.

Idempotent: each gig is written under its id, so seeding again updates gigs rather than adding any.
"""

import boto3

from tools import stack
from tools.catalogue import load_gigs, seed


def seed_stack(session: boto3.Session, stack_name: str) -> str:
    table = session.resource("dynamodb").Table(
        stack.outputs(session.client("cloudformation"), stack_name)["GigsTableName"]
    )
    count = seed(table, load_gigs())
    return f"Seeded {count} gigs into {table.name}"


if __name__ == "__main__":
    stack.run(seed_stack, __doc__ or "")
