"""How long the worker takes for a batch of 10 when each SES call takes a given time.

    .venv/bin/python -m benchmarks.worker_batch [--ses-latency-ms 80] [--runs 5]

SES is moto, in process, behind a fixed delay per call (SES's own latency varies by region; pass
yours). Prints the median time per batch with the worker's pool and with one sender, for comparison.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from moto import mock_aws

from benchmarks.warm_purchase import output_discarded

# tests.conftest also gives this process fake credentials and the template's Globals variables.
from tests.conftest import FakeLambdaContext, load_event, reserve
from tools.provision import provision
from tools.sam_template import SamTemplate

WORKER = SamTemplate().functions["WorkerFunction"]
PURCHASE = SamTemplate().functions["PurchaseFunction"]
sys.path[:0] = [str(WORKER.code_uri), str(PURCHASE.code_uri)]  # the purchase's ledger records the tickets


def batch_of(size: int) -> dict[str, Any]:
    """A batch of `size` messages, each for a ticket of its own that the ledger holds (the worker emails no other)."""
    event = load_event("worker-batch.json")
    record, body = event["Records"][0], json.loads(event["Records"][0]["body"])
    bodies = [json.dumps({**body, "ticketId": str(uuid.uuid4())}) for _ in range(size)]
    reserve(*bodies)
    event["Records"] = [{**record, "messageId": str(uuid.uuid4()), "body": text} for text in bodies]
    return event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ses-latency-ms", type=float, default=80)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with mock_aws():
        template = SamTemplate()
        resources = provision(template, boto3.Session(region_name="us-east-1"))
        os.environ.update({**resources.environment(PURCHASE), **resources.environment(WORKER)})
        from worker import adapters, app
        from worker.delivery import NO_DEADLINE, Deadline
        from worker.email_content import Email

        real_send = adapters.SesMailer.send
        sends: list[str] = []

        def slow_send(self: adapters.SesMailer, to: str, email: Email, deadline: Deadline = NO_DEADLINE) -> str:
            time.sleep(args.ses_latency_ms / 1000)
            sends.append(to)
            return real_send(self, to, email, deadline)

        adapters.SesMailer.send = slow_send  # type: ignore[method-assign]
        results = {}
        for label, senders in (("pool of 10 (as shipped)", app._senders), ("one sender", ThreadPoolExecutor(1))):
            app._senders = senders
            times = []
            for _ in range(args.runs):
                event = batch_of(10)
                sends.clear()
                with output_discarded():
                    started = time.perf_counter()
                    response = app.lambda_handler(event, FakeLambdaContext())
                    times.append(time.perf_counter() - started)
                if response != {"batchItemFailures": []} or len(sends) != 10:
                    sys.exit(f"not a batch of 10 emails: {response}, {len(sends)} sent")
            results[label] = statistics.median(times) * 1000
    print(f"batch of 10, SES call {args.ses_latency_ms:.0f} ms, median of {args.runs}:")
    for label, milliseconds in results.items():
        print(f"  {label:<24} {milliseconds:7.0f} ms")


if __name__ == "__main__":
    main()
