"""The whole path in moto: purchase -> PurchaseQueue (as the template builds it) -> worker -> SES.

`deliver` plays Lambda's event source mapping: it receives, invokes the worker, deletes what
succeeded and leaves the reported failures for the queue to hand out again. Redelivery and the move
to the dead-letter queue are the queue's own redrive policy at work, not the test's.
"""

import json
from collections import Counter
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.typing import LambdaContext

from purchase.app import lambda_handler as purchase
from tests.conftest import REGION, TEMPLATE, purchase_event, receive_all, sent_emails
from tools.local.event_source import batch_outcome, sqs_event
from tools.local.runtime import FunctionError, Invocation
from tools.provision import LocalResources
from worker.app import lambda_handler as worker

MAX_RECEIVE_COUNT = TEMPLATE.of_type("AWS::SQS::Queue")["PurchaseQueue"]["RedrivePolicy"]["maxReceiveCount"]


def buy(context: LambdaContext, **changes: Any) -> dict[str, Any]:
    response: dict[str, Any] = purchase(purchase_event(**changes), context)
    return response


def deliver(resources: LocalResources, context: LambdaContext) -> Counter[str]:
    """Run the event source mapping until the queue is empty; count how often each body was handed over."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url, queue_arn = resources.refs["PurchaseQueue"], resources.get_att("PurchaseQueue", "Arn")
    handed_over: Counter[str] = Counter()
    # A visibility timeout of 0 brings failed messages straight back instead of after 180 s.
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", []):
        handed_over.update(message["Body"] for message in messages)
        try:
            invocation = Invocation("deliver", 0, response=worker(sqs_event(messages, queue_arn, REGION), context))
        except BatchProcessingError as error:  # every record failed: Lambda sees a function error
            invocation = Invocation("deliver", 0, error=FunctionError(type(error).__name__, str(error)))
        # Lambda's rules for the answer (an unknown itemIdentifier fails the whole batch), as the local stack's.
        outcome = batch_outcome([message["MessageId"] for message in messages], invocation, reports_item_failures=True)
        for message in messages:
            if message["MessageId"] in outcome.succeeded:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return handed_over


def test_a_ticket_bought_is_emailed_to_the_buyer_with_its_id(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    response = buy(lambda_context, email="grace@example.com", name="Grace Hopper")
    deliver(resources, lambda_context)

    assert response["statusCode"] == 202
    (email,) = sent_emails()
    assert email.destinations["ToAddresses"] == ["grace@example.com"]
    assert not email.destinations.get("CcAddresses")
    assert not email.destinations.get("BccAddresses")
    assert json.loads(response["body"])["ticketId"] in email.body
    assert "Grace Hopper" in email.body
    assert receive_all(resources.refs["PurchaseQueue"]) == []


def test_a_poison_message_reaches_the_dlq_after_max_receive_count_while_the_others_are_emailed_once(
    resources: LocalResources, lambda_context: LambdaContext
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    buy(lambda_context, email="ada@example.com")
    sqs.send_message(QueueUrl=resources.refs["PurchaseQueue"], MessageBody='{"not": "a ticket"}')
    buy(lambda_context, email="alan@example.com")

    handed_over = deliver(resources, lambda_context)

    assert handed_over['{"not": "a ticket"}'] == MAX_RECEIVE_COUNT == 5
    (parked,) = receive_all(resources.refs["PurchaseDeadLetterQueue"])
    assert parked["Body"] == '{"not": "a ticket"}'
    assert sorted(email.destinations["ToAddresses"][0] for email in sent_emails()) == [
        "ada@example.com",
        "alan@example.com",
    ]
