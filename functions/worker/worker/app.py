"""PurchaseQueue -> one confirmation email per record, reporting the records that failed."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from worker.adapters import CLIENT_CONFIG, SesMailer, SqsDeadLetters, TicketLedger
from worker.delivery import Confirmations, Deadline, Outcome
from worker.models import TicketMessage
from worker.settings import Settings

# A batch holds at most 10 records (the template's BatchSize): send them all at once, so a batch
# costs about one SES round trip rather than ten.
SEND_CONCURRENCY = 10

# Metric names, one place to grep for them.
MALFORMED_MESSAGES = "MalformedMessages"
CONFIRMATIONS_FAILED = "ConfirmationsFailed"
CONFIRMATIONS = {
    Outcome.SENT: "ConfirmationsSent",
    Outcome.ALREADY_SENT: "ConfirmationsAlreadySent",
    Outcome.PARKED: "ConfirmationsParked",
    Outcome.NOT_SOLD: "ConfirmationsNotSold",
}

logger = Logger()
metrics = Metrics()
processor = AsyncBatchProcessor(event_type=EventType.SQS)
_senders = ThreadPoolExecutor(max_workers=SEND_CONCURRENCY, thread_name_prefix="send")


@cache
def _confirmations() -> Confirmations:
    settings = Settings.from_env()
    # One DynamoDB client for the ledger and the idempotency records: Powertools would otherwise build its
    # own on a new boto3 session, about 60 ms of every cold start.
    dynamodb = boto3.client("dynamodb", config=CLIENT_CONFIG)
    return Confirmations(
        mailer=SesMailer(settings.sender_email),
        dead_letters=SqsDeadLetters(settings.dead_letter_queue_url),
        ledger=TicketLedger(settings.tickets_table_name, client=dynamodb),
        persistence=DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb),
    )


async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    """Parse and confirm one record; an exception fails this record alone."""
    try:
        ticket = TicketMessage.model_validate_json(record.body)
    except ValidationError as error:
        fields = [".".join(map(str, detail["loc"])) for detail in error.errors(include_input=False)]
        logger.error("Not a ticket message", extra={"messageId": record.message_id, "fields": fields})
        metrics.add_metric(name=MALFORMED_MESSAGES, unit=MetricUnit.Count, value=1)
        raise
    log_keys = {"ticketId": str(ticket.ticket_id), "messageId": record.message_id}
    try:
        loop = asyncio.get_running_loop()
        deadline = Deadline(lambda: lambda_context.get_remaining_time_in_millis() / 1000)
        delivery = await loop.run_in_executor(_senders, _confirmations().deliver, ticket, record.body, deadline)
    except Exception:
        logger.exception("Confirmation failed; SQS will deliver the message again", extra=log_keys)
        metrics.add_metric(name=CONFIRMATIONS_FAILED, unit=MetricUnit.Count, value=1)
        raise
    if delivery.email_message_id:
        log_keys["emailMessageId"] = delivery.email_message_id  # SES's id: its events and the ledger use it
    match delivery.outcome:
        case Outcome.PARKED:
            refused = {**log_keys, "reason": delivery.refusal}
            logger.error("SES refused the email; message parked in the dead-letter queue", extra=refused)
        case Outcome.NOT_SOLD:
            logger.warning("No email: the ledger holds no sold ticket with this id", extra=log_keys)
        case Outcome.ALREADY_SENT:
            logger.info("Confirmation already sent", extra=log_keys)
        case Outcome.SENT:
            logger.info("Confirmation sent", extra=log_keys)
    metrics.add_metric(name=CONFIRMATIONS[delivery.outcome], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Lets an interrupted send's "in progress" mark expire with this invocation rather than an hour later.
    _confirmations().idempotency.register_lambda_context(context)
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
