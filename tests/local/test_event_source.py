"""The SQS event source mapping's rules, without a queue: the event it builds, and what it deletes after."""

from typing import Any

import pytest

from tests.conftest import load_event
from tools.local.event_source import BatchOutcome, batch_outcome, sqs_event, sqs_record
from tools.local.runtime import FunctionError, Invocation

SAMPLE = load_event("worker-batch.json")
QUEUE_ARN = SAMPLE["Records"][0]["eventSourceARN"]
REGION = SAMPLE["Records"][0]["awsRegion"]
IDS = ["m-1", "m-2", "m-3"]


def _received(record: dict[str, Any]) -> dict[str, Any]:
    """The message behind a sample record, as ReceiveMessage returns it (all attributes asked for)."""
    return {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "MD5OfBody": record["md5OfBody"],
        "Body": record["body"],
        "Attributes": record["attributes"],
    }


def _answered(response: Any) -> Invocation:
    return Invocation("request-id", 12.0, response=response)


# --- The event ----------------------------------------------------------------------------------------


def test_received_messages_become_the_event_of_the_sample_batch() -> None:
    # Given the messages behind events/worker-batch.json
    messages = [_received(record) for record in SAMPLE["Records"]]

    # When
    event = sqs_event(messages, QUEUE_ARN, REGION)

    # Then
    assert event == SAMPLE


def test_message_attributes_reach_the_function_in_lambdas_spelling() -> None:
    # Given a message with a string and a binary attribute
    message = {
        **_received(SAMPLE["Records"][0]),
        "MD5OfMessageAttributes": "7f0e6f05bf7d0a3a2c3b0f9e1f1e1a5b",
        "MessageAttributes": {
            "failureReason": {"StringValue": "MessageRejected", "DataType": "String"},
            "trace": {"BinaryValue": b"\x01\x02", "DataType": "Binary"},
        },
    }

    # When
    record = sqs_record(message, QUEUE_ARN, REGION)

    # Then
    assert record["messageAttributes"] == {
        "failureReason": {
            "stringValue": "MessageRejected",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "trace": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert record["md5OfMessageAttributes"] == "7f0e6f05bf7d0a3a2c3b0f9e1f1e1a5b"


# --- What is deleted ----------------------------------------------------------------------------------


def test_the_messages_a_function_reports_as_failed_stay_and_the_others_are_deleted() -> None:
    # When
    outcome = batch_outcome(IDS, _answered({"batchItemFailures": [{"itemIdentifier": "m-2"}]}), True)

    # Then
    assert outcome == BatchOutcome(succeeded=["m-1", "m-3"], failed=["m-2"])


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_a_response_that_reports_no_failure_deletes_the_whole_batch(response: Any) -> None:
    assert batch_outcome(IDS, _answered(response), True) == BatchOutcome(succeeded=IDS, failed=[])


@pytest.mark.parametrize(
    "failures",
    [
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"messageId": "m-2"}],
        [{"itemIdentifier": "not-in-this-batch"}],
        [{"itemIdentifier": "m-1"}, {"itemIdentifier": ""}],
        ["m-2"],
        "m-2",
    ],
)
def test_an_invalid_item_identifier_fails_the_whole_batch(failures: Any) -> None:
    # When
    outcome = batch_outcome(IDS, _answered({"batchItemFailures": failures}), True)

    # Then nothing is deleted: every message comes back, as on AWS
    assert (outcome.succeeded, outcome.failed) == ([], IDS)
    assert outcome.reason


def test_a_response_that_is_not_an_object_fails_the_whole_batch() -> None:
    outcome = batch_outcome(IDS, _answered(["m-2"]), True)

    assert (outcome.succeeded, outcome.failed) == ([], IDS)


def test_a_function_error_fails_the_whole_batch() -> None:
    # Given the worker's answer when every record failed
    error = FunctionError("BatchProcessingError", "All records failed processing. 3 individual errors logged below.")

    # When
    outcome = batch_outcome(IDS, Invocation("request-id", 12.0, error=error), True)

    # Then
    assert (outcome.succeeded, outcome.failed) == ([], IDS)
    assert outcome.reason == f"function error BatchProcessingError: {error.message}"


def test_without_report_batch_item_failures_reported_failures_are_ignored_and_everything_is_deleted() -> None:
    outcome = batch_outcome(IDS, _answered({"batchItemFailures": [{"itemIdentifier": "m-2"}]}), False)

    assert outcome == BatchOutcome(succeeded=IDS, failed=[])
