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

# tests.conftest also gives this process fake credentials and the template's Globals variables.
from tests.conftest import FakeLambdaContext, load_event
from tools.provision import provision
from tools.sam_template import SamTemplate

WORKER = SamTemplate().functions["WorkerFunction"]
sys.path.insert(0, str(WORKER.code_uri))


def batch_of(size: int) -> dict[str, Any]:
    event = load_event("worker-batch.json")
    record, body = event["Records"][0], json.loads(event["Records"][0]["body"])
    event["Records"] = [
        {**record, "messageId": str(uuid.uuid4()), "body": json.dumps({**body, "ticketId": str(uuid.uuid4())})}
        for _ in range(size)
    ]
    return event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ses-latency-ms", type=float, default=80)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with mock_aws():
        template = SamTemplate()
        resources = provision(template, boto3.Session(region_name="us-east-1"))
        os.environ.update(resources.environment(WORKER))
        from worker import adapters, app

        real_send = adapters.SesMailer.send

        def slow_send(self: adapters.SesMailer, to: str, email: Any) -> str:
            time.sleep(args.ses_latency_ms / 1000)
            return real_send(self, to, email)

        adapters.SesMailer.send = slow_send  # type: ignore[method-assign]
        results = {}
        for label, senders in (("pool of 10 (as shipped)", app._senders), ("one sender", ThreadPoolExecutor(1))):
            app._senders = senders
            times = []
            for _ in range(args.runs):
                event = batch_of(10)
                started = time.perf_counter()
                response = app.lambda_handler(event, FakeLambdaContext())
                times.append(time.perf_counter() - started)
                assert response == {"batchItemFailures": []}, response
            results[label] = statistics.median(times) * 1000
    print(f"batch of 10, SES call {args.ses_latency_ms:.0f} ms, median of {args.runs}:")
    for label, milliseconds in results.items():
        print(f"  {label:<24} {milliseconds:7.0f} ms")


if __name__ == "__main__":
    main()
