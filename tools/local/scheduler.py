"""The template's schedules: EventBridge Scheduler (`ScheduleV2` events) and EventBridge rules (`Schedule` events).

Each enabled schedule invokes its function with the event Scheduler (or the rule) sends: a schedule's `Input`
with Scheduler's context attributes filled in (`<aws.scheduler.scheduled-time>` and the others), a rule's
`Input` as it is, or, for a rule without one, its "Scheduled Event".

How often: every `interval` here, so that a five-minute schedule can be watched at work; with no local
interval, a `rate(...)` schedule runs at its own rate. `cron(...)` and `at(...)` expressions are not
evaluated here: such a schedule runs only on the local interval.

What differs from AWS: the first run is one interval after start-up; a run still going when the next is due
delays it (one execution environment per function here; on AWS the next run would start beside it); a
failed run is reported and not tried again (the next run comes at the next tick).
"""

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.local.console import Console, brief
from tools.local.runtime import Invocation
from tools.sam_template import FunctionSchedule

# Scheduler's context attributes, in a schedule's Input (the EventBridge Scheduler User Guide).
SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
EXECUTION_ID = "<aws.scheduler.execution-id>"
ATTEMPT_NUMBER = "<aws.scheduler.attempt-number>"


def schedule_arn(schedule: FunctionSchedule, region: str, account_id: str) -> str:
    """The ARN of the schedule (ScheduleV2) or rule (Schedule) SAM creates for this event."""
    if schedule.event_type == "ScheduleV2":
        group = schedule.properties.get("GroupName") or "default"
        return f"arn:aws:scheduler:{region}:{account_id}:schedule/{group}/{schedule.resource_name}"
    return f"arn:aws:events:{region}:{account_id}:rule/{schedule.resource_name}"


def aws_time(moment: datetime) -> str:
    """`2026-11-23T18:30:00Z`, as Scheduler writes a scheduled time and a rule an event's time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_event(
    input_text: str | None, arn: str, scheduled_time: datetime, execution_id: str, attempt: int = 1
) -> Any:
    """What EventBridge Scheduler invokes the function with: its Input, with the context attributes filled in.

    Without an Input, Scheduler delivers what its documentation calls "a default notification", whose shape
    it does not give: an empty object here.
    """
    if input_text is None:
        return {}
    text = input_text
    for attribute, value in (
        (SCHEDULE_ARN, arn),
        (SCHEDULED_TIME, aws_time(scheduled_time)),
        (EXECUTION_ID, execution_id),
        (ATTEMPT_NUMBER, str(attempt)),
    ):
        text = text.replace(attribute, value)
    return json.loads(text)


def rule_event(input_text: str | None, arn: str, scheduled_time: datetime, region: str, account_id: str) -> Any:
    """What a scheduled EventBridge rule invokes the function with: its Input, or a "Scheduled Event"."""
    if input_text is not None:
        return json.loads(input_text)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": aws_time(scheduled_time),
        "region": region,
        "resources": [arn],
        "detail": {},
    }


def describe_response(response: Any) -> str:
    """`requeued 2, settled 0, orphaned 0` for a flat JSON object; the JSON, cut short, for anything else."""
    if isinstance(response, dict) and response and all(_is_scalar(value) for value in response.values()):
        return ", ".join(
            f"{key} {json.dumps(value) if isinstance(value, str) else value}" for key, value in response.items()
        )
    return brief(json.dumps(response))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class ScheduledRuns:
    """Runs one schedule's function every `period`, in a thread of its own."""

    def __init__(
        self,
        schedule: FunctionSchedule,
        input_text: str | None,
        period: timedelta,
        invoke: Callable[[Any], Invocation],
        console: Console,
        region: str,
        account_id: str,
    ) -> None:
        """`input_text`: the schedule's Input, resolved; `invoke`: the function's runtime's."""
        if period <= timedelta(0):
            raise ValueError(f"{schedule.name}: a schedule's period must be above zero, not {period}")
        self.schedule = schedule
        self.period = period
        self.arn = schedule_arn(schedule, region, account_id)
        self._input_text = input_text
        self._invoke = invoke
        self._console = console
        self._region = region
        self._account_id = account_id
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run_on_schedule, name=f"schedule-{schedule.name}", daemon=True)
        self.event(datetime.now(UTC))  # an Input that is not JSON fails at start-up, not at the first run

    def event(self, scheduled_time: datetime) -> Any:
        """The event of the run due at `scheduled_time`."""
        if self.schedule.event_type == "ScheduleV2":
            return scheduler_event(self._input_text, self.arn, scheduled_time, str(uuid.uuid4()))
        return rule_event(self._input_text, self.arn, scheduled_time, self._region, self._account_id)

    def run(self, scheduled_time: datetime) -> Invocation:
        """Invoke the function for the run due at `scheduled_time`, and say on the console how it went."""
        invocation = self._invoke(self.event(scheduled_time))
        if not self._stopping.is_set():  # stopped mid-run: the runtime was stopped under it, nothing to say
            self._console.line("sched", self._describe(invocation))
        return invocation

    def start(self) -> None:
        self._thread.start()

    def stop_scheduling(self) -> None:
        """Start no new run; the one in progress, if any, ends with its invocation."""
        self._stopping.set()

    def stop(self) -> None:
        self.stop_scheduling()
        if self._thread.is_alive():
            self._thread.join()

    def _run_on_schedule(self) -> None:
        period = self.period.total_seconds()
        # Due times on the monotonic clock (immune to the wall clock's jumps); scheduled times on the wall clock.
        started, started_at = time.monotonic(), datetime.now(UTC)
        due = started + period
        while not self._stopping.wait(max(0.0, due - time.monotonic())):
            self.run(started_at + timedelta(seconds=due - started))
            due += period
            if (late := time.monotonic() - due) > 0:  # the run took longer than the period: skip what it overlapped
                due += (late // period + 1) * period

    def _describe(self, invocation: Invocation) -> str:
        """`Every5Minutes -> ReconcilerFunction: requeued 2, settled 0, orphaned 0`."""
        outcome = (
            f"failed, {invocation.error.type}: {brief(invocation.error.message)}"
            if invocation.error
            else describe_response(invocation.response)
        )
        return f"{self.schedule.name} -> {self.schedule.function}: {outcome}"
