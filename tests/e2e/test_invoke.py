"""`make invoke` (`python -m tools.local.invoke`): one function, one sample event, against the embedded AWS."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import load_event
from tools.sam_template import ROOT


def _invoke(function: str, event: str, outbox: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.local.invoke", function, event],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OUTBOX_DIR": str(outbox)},
        check=False,
    )


def test_a_valid_purchase_event_is_answered_202_with_a_ticket_id(tmp_path: Path) -> None:
    # When
    result = _invoke("PurchaseFunction", "events/purchase-valid.json", tmp_path)

    # Then stdout is the function's response alone, and its logs went to stderr
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 202
    assert json.loads(response["body"])["ticketId"]
    assert '"message":"Ticket accepted"' in result.stderr


def test_a_batch_with_a_poison_record_reports_that_record_alone(tmp_path: Path) -> None:
    # Given the sample batch, whose second record is not a ticket
    event = load_event("worker-batch-poison.json")
    first, poison, last = event["Records"]

    # When
    result = _invoke("WorkerFunction", "events/worker-batch-poison.json", tmp_path)

    # Then the poison record is the one failure, and the other two were emailed
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    for record in (first, last):
        ticket_id = json.loads(record["body"])["ticketId"]
        assert len(list(tmp_path.glob(f"*-{ticket_id}.eml"))) == 1
