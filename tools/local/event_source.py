"""The SQS event source mapping: Lambda's poller between a queue and a function.

It does what the mapping does on AWS, and nothing more: receive a batch (BatchSize, within the batching
window), invoke the function with the event Lambda builds (the shape of events/worker-batch.json), then
delete the messages that succeeded. Failed ones are left alone: they come back when the queue's
visibility timeout ends, and the queue's own redrive policy moves them to the dead-letter queue after
maxReceiveCount receives, exactly as on AWS. One poller per mapping, so batches run one at a time here
(ScalingConfig.MaximumConcurrency only matters under load).
"""

import base64
import itertools
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.local.console import Console, brief
from tools.local.runtime import FunctionRuntime, Invocation
from tools.sam_template import QueueMapping

# Short, so that stopping the local stack takes a second at most.
LONG_POLL_SECONDS = 1
SQS_RECEIVE_LIMIT = 10
# The system attributes Lambda passes on in a record's `attributes`.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "DeadLetterQueueSourceArn",
    "AWSTraceHeader",
)


# --- The event ----------------------------------------------------------------------------------------


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda invokes the function with, for messages as ReceiveMessage returns them."""
    return {"Records": [sqs_record(message, queue_arn, region) for message in messages]}


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: attributes[name] for name in _RECORD_ATTRIBUTES if name in attributes},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS's `{"StringValue": ..., "DataType": ...}` as Lambda spells it: camelCase, binary as base64."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _base64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [_base64(item) for item in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def _base64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode("ascii")


# --- The outcome --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    succeeded: list[str]  # message ids to delete
    failed: list[str]  # message ids left for the queue to deliver again
    reason: str | None = None  # why the whole batch failed, when it did


def batch_outcome(message_ids: Sequence[str], invocation: Invocation, reports_item_failures: bool) -> BatchOutcome:
    """Which messages of a batch succeeded, by Lambda's rules for SQS (partial batch responses included)."""
    ids = list(message_ids)
    if invocation.error:
        return BatchOutcome([], ids, f"function error {invocation.error.type}: {brief(invocation.error.message)}")
    if not reports_item_failures:
        return BatchOutcome(ids, [])  # the response is not even read
    response = invocation.response
    if response is None:
        return BatchOutcome(ids, [])
    if not isinstance(response, dict):
        return BatchOutcome([], ids, "the response is not a JSON object, so the whole batch failed")
    failures = response.get("batchItemFailures")
    if not failures:  # missing, null or empty: every message succeeded
        return BatchOutcome(ids, [])
    if not isinstance(failures, list):
        return BatchOutcome([], ids, "batchItemFailures is not a list, so the whole batch failed")
    failed: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            # An empty, missing or unknown itemIdentifier fails the whole batch, on AWS as here.
            return BatchOutcome([], ids, f"invalid itemIdentifier {identifier!r}, so the whole batch failed")
        failed.append(identifier)
    return BatchOutcome([i for i in ids if i not in failed], [i for i in ids if i in failed])


# --- The poller ---------------------------------------------------------------------------------------


class EventSourceMapping:
    """Polls one queue for one function, in a thread of its own."""

    def __init__(
        self,
        mapping: QueueMapping,
        queue_url: str,
        queue_arn: str,
        sqs: Any,
        runtime: FunctionRuntime,
        console: Console,
    ) -> None:
        self.mapping = mapping
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = queue_arn.split(":")[3]
        self._sqs = sqs
        self._runtime = runtime
        self._console = console
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, name=f"poll-{mapping.queue}", daemon=True)
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy", "VisibilityTimeout"])
        self.visibility_timeout = int(attributes["Attributes"]["VisibilityTimeout"])
        # The queue's own redrive policy, read only to say on the console when a message is about to leave.
        policy = json.loads(attributes["Attributes"].get("RedrivePolicy", "null"))
        self.max_receive_count: int | None = int(policy["maxReceiveCount"]) if policy else None
        self.dead_letter_queue: str | None = policy["deadLetterTargetArn"].rsplit(":", 1)[-1] if policy else None

    def start(self) -> None:
        self._thread.start()

    def stop_polling(self) -> None:
        """Take no new batch; the one in progress, if any, ends with its invocation."""
        self._stopping.set()

    def stop(self) -> None:
        self.stop_polling()
        if self._thread.is_alive():
            self._thread.join()

    def poll_once(self) -> BatchOutcome | None:
        """Receive one batch, invoke the function with it and settle it; None when the queue had nothing."""
        messages = self._gather()
        if not messages:
            return None
        invocation = self._runtime.invoke(sqs_event(messages, self._queue_arn, self._region))
        if self._stopping.is_set():
            return None  # stopped mid-invocation: the batch goes back to the queue, as after a crash
        ids = [message["MessageId"] for message in messages]
        outcome = batch_outcome(ids, invocation, self.mapping.report_batch_item_failures)
        self._delete([message for message in messages if message["MessageId"] in outcome.succeeded])
        self._console.line("queue", self._describe(messages, outcome))
        return outcome

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                if not self._stopping.is_set():
                    self._console.line("queue", f"{self.mapping.queue}: {error}; polling again in a second")
                    self._stopping.wait(1)

    def _gather(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: what a long poll finds, topped up until the batching window closes."""
        batch_size = self.mapping.batch_size
        first_receive = time.monotonic()
        messages = self._receive(batch_size, LONG_POLL_SECONDS)
        # The window also closes before the first messages can become visible again, or a short visibility
        # timeout (as `--visibility-timeout` sets) would put a message in its own batch twice. On AWS the
        # visibility timeout is far longer than any batching window.
        window_closes = min(
            time.monotonic() + self.mapping.batching_window_seconds, first_receive + self.visibility_timeout
        )
        while messages and len(messages) < batch_size and not self._stopping.is_set():
            remaining = window_closes - time.monotonic()
            if remaining <= 0:
                break
            # Whole seconds only (SQS's unit) and never past the window; under a second, short polls.
            more = self._receive(batch_size - len(messages), int(remaining))
            if not more and int(remaining) == 0:
                self._stopping.wait(min(remaining, 0.1))
            messages += more
        return messages

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(count, SQS_RECEIVE_LIMIT),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for chunk in itertools.batched(messages, SQS_RECEIVE_LIMIT, strict=False):
            entries = [{"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]} for n, message in enumerate(chunk)]
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)

    def _describe(self, messages: Sequence[Mapping[str, Any]], outcome: BatchOutcome) -> str:
        """`PurchaseQueue -> WorkerFunction: 3 messages, 2 ok, 1 failed: <id> (receive 1 of 5)`."""
        count = len(messages)
        text = (
            f"{self.mapping.queue} -> {self.mapping.function}: {count} message{'' if count == 1 else 's'}, "
            f"{len(outcome.succeeded)} ok, {len(outcome.failed)} failed"
        )
        failed = [message for message in messages if message["MessageId"] in outcome.failed]
        if failed:
            text += ": " + ", ".join(self._describe_failed(message) for message in failed)
        if outcome.reason:
            text += f" [{outcome.reason}]"
        return text

    def _describe_failed(self, message: Mapping[str, Any]) -> str:
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
        if self.max_receive_count is None:
            return f"{message['MessageId']} (receive {receives})"
        last = receives >= self.max_receive_count
        then = f", next receive moves it to {self.dead_letter_queue}" if last else ""
        return f"{message['MessageId']} (receive {receives} of {self.max_receive_count}{then})"
