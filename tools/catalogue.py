"""data/gigs.json, the catalogue the shop starts with, and writing it into a gigs table."""

import json
from pathlib import Path
from typing import Any

from tools.sam_template import ROOT

GIGS_PATH = ROOT / "data" / "gigs.json"


def load_gigs(path: Path = GIGS_PATH) -> list[dict[str, Any]]:
    gigs: list[dict[str, Any]] = json.loads(path.read_text())
    return gigs


def seed(table: Any, gigs: list[dict[str, Any]]) -> int:
    """Put every gig into `table` (a boto3 DynamoDB Table); writing the same gigs again changes nothing."""
    with table.batch_writer(overwrite_by_pkeys=["id"]) as batch:
        for gig in gigs:
            batch.put_item(Item=gig)
    return len(gigs)
