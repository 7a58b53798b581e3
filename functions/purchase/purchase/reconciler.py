"""ReconcilerFunction: on a schedule, queue again the confirmation of tickets left RESERVED too long.

It shares the purchase's code (its ledger, catalogue and queue adapters and the message model): it finishes
what a purchase started. It reads only the ledger's sparse index of unsettled tickets, so a run over a
healthy shop reads next to nothing.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from purchase.adapters import GigCatalogue, SqsTicketQueue, TicketLedger, invocation_deadline
from purchase.orders import ServiceUnavailable, requeue_unconfirmed
from purchase.settings import LedgerSettings

# Metric names, one place to grep for them.
TICKETS_REQUEUED = "TicketsRequeued"
TICKETS_ORPHANED = "TicketsOrphaned"
TICKETS_NOT_REQUEUED = "TicketsNotRequeued"

logger = Logger()
metrics = Metrics()


@cache
def _adapters() -> tuple[GigCatalogue, TicketLedger, SqsTicketQueue]:
    settings = LedgerSettings.from_env()
    return GigCatalogue(settings.gigs_table_name), TicketLedger(settings), SqsTicketQueue(settings.queue_url)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """The event is the schedule's Input (events/reconcile-scheduled.json): which run this is, for the logs."""
    logger.append_keys(scheduledTime=event.get("scheduledTime"), executionId=event.get("executionId"))
    result = requeue_unconfirmed(*_adapters(), deadline=invocation_deadline(context))
    if result.cut_short:
        logger.warning("Run stopped before its timeout; the next run goes on with the tickets left")
    for ticket_id in result.requeued:
        # A warning: a ticket that needed this means a purchase died mid-way or the worker is struggling.
        logger.warning("Confirmation queued again", extra={"ticketId": str(ticket_id)})
    for ticket_id in result.orphaned:
        logger.error("Ticket RESERVED for a gig gone from the catalogue", extra={"ticketId": str(ticket_id)})
    for ticket_id in result.failed:
        logger.error("Confirmation not queued again; tried after its backoff", extra={"ticketId": str(ticket_id)})
    metrics.add_metric(name=TICKETS_REQUEUED, unit=MetricUnit.Count, value=len(result.requeued))
    metrics.add_metric(name=TICKETS_ORPHANED, unit=MetricUnit.Count, value=len(result.orphaned))
    metrics.add_metric(name=TICKETS_NOT_REQUEUED, unit=MetricUnit.Count, value=len(result.failed))
    if result.index_failed:
        # After the report of what it did: the run fails (FunctionErrorsAlarm); the next one goes on.
        raise ServiceUnavailable("the UnsettledTickets index could not be read to its end")
    return {
        "requeued": len(result.requeued),
        "settled": result.settled,
        "orphaned": len(result.orphaned),
        "failed": len(result.failed),
    }
