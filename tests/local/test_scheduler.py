"""The template's schedules, run locally without a socket: the events they send, and the runs themselves."""

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_event
from tests.e2e.local_stack import wait_until
from tools.local.console import Console
from tools.local.runtime import FunctionError, Invocation
from tools.local.scheduler import ScheduledRuns, describe_response, rule_event, schedule_arn, scheduler_event
from tools.local.stack import LocalStack, StackOptions
from tools.provision import ACCOUNT_ID, LocalResources
from tools.sam_template import FunctionSchedule, SamTemplate

REGION = "us-east-1"
SCHEDULED = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)


@pytest.fixture
def schedule(template: SamTemplate) -> FunctionSchedule:
    """The template's one schedule, the reconciler's."""
    (schedule,) = template.schedules()
    return schedule


def _rule(**properties: Any) -> FunctionSchedule:
    return FunctionSchedule("Job", "Hourly", "Schedule", "rate(1 hour)", properties.get("Input"), True, properties)


class Runs:
    """A runtime's `invoke` that answers `response` (or fails with `error`), keeping every event."""

    def __init__(self, response: Any = None, error: FunctionError | None = None) -> None:
        self.events: list[Any] = []
        self._response, self._error = response, error
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> Invocation:
        with self._lock:
            self.events.append(event)
        return Invocation("request-id", 5.0, response=self._response, error=self._error)

    def count(self) -> int:
        with self._lock:
            return len(self.events)


# --- The events ---------------------------------------------------------------------------------------


def test_a_schedules_input_gets_schedulers_context_attributes_filled_in(
    schedule: FunctionSchedule, resources: LocalResources
) -> None:
    # Given the schedule's Input, and the sample event that shows what the function receives
    sample = load_event("reconcile-scheduled.json")
    arn = schedule_arn(schedule, REGION, ACCOUNT_ID)

    # When
    event = scheduler_event(str(resources.resolve(schedule.input)), arn, SCHEDULED, "c2f1a5e4", attempt=1)

    # Then every placeholder is a value, and the event has the sample's fields
    assert "<aws.scheduler." not in json.dumps(event)
    assert set(event) == set(sample)
    assert set(event.values()) == {arn, "2026-11-23T18:30:00Z", "c2f1a5e4", "1"}
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{schedule.resource_name}"


def test_a_rule_without_input_sends_a_scheduled_event() -> None:
    # Given an EventBridge rule with no Input
    rule = _rule()
    arn = schedule_arn(rule, REGION, ACCOUNT_ID)

    # When
    event = rule_event(None, arn, SCHEDULED, REGION, ACCOUNT_ID)

    # Then
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/JobHourly"
    assert {key: event[key] for key in ("detail-type", "source", "time", "resources", "detail")} == {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-23T18:30:00Z",
        "resources": [arn],
        "detail": {},
    }


def test_a_rule_with_input_sends_it_as_it_is() -> None:
    assert rule_event('{"job": "<aws.scheduler.execution-id>"}', "arn", SCHEDULED, REGION, ACCOUNT_ID) == {
        "job": "<aws.scheduler.execution-id>"
    }


@pytest.mark.parametrize(
    ("response", "line"),
    [
        ({"requeued": 2, "settled": 0, "orphaned": 0}, "requeued 2, settled 0, orphaned 0"),
        ({"status": "ok", "late": None}, 'status "ok", late None'),
        ([1, 2], "[1, 2]"),
        (None, "null"),
    ],
)
def test_what_a_run_returned_is_one_readable_line(response: Any, line: str) -> None:
    assert describe_response(response) == line


# --- The runs -----------------------------------------------------------------------------------------


def test_each_run_invokes_the_function_with_a_new_execution_and_prints_what_it_returned(
    schedule: FunctionSchedule, resources: LocalResources
) -> None:
    # Given the reconciler's schedule, every 50 ms
    runs = Runs(response={"requeued": 2, "settled": 0, "orphaned": 0})
    output = io.StringIO()
    scheduled = ScheduledRuns(
        schedule,
        str(resources.resolve(schedule.input)),
        timedelta(milliseconds=50),
        runs,
        Console(output),
        REGION,
        ACCOUNT_ID,
    )

    # When it runs three times
    scheduled.start()
    try:
        wait_until(lambda: runs.count() >= 3, timeout=10, what="three runs")
    finally:
        scheduled.stop()

    # Then each got its own execution id, and each said on the console what the function returned
    assert len({event["executionId"] for event in runs.events}) == runs.count()
    lines = output.getvalue().splitlines()
    assert lines[:3] == [f"sched  {schedule.name} -> {schedule.function}: requeued 2, settled 0, orphaned 0"] * 3


def test_a_failed_run_is_reported_with_its_error(schedule: FunctionSchedule) -> None:
    # Given a function that fails
    runs = Runs(error=FunctionError("Runtime.ExitError", "Runtime exited with error: exit status 1"))
    output = io.StringIO()
    scheduled = ScheduledRuns(schedule, "{}", timedelta(hours=1), runs, Console(output), REGION, ACCOUNT_ID)

    # When
    invocation = scheduled.run(SCHEDULED)

    # Then
    assert invocation.error is not None
    assert output.getvalue() == (
        f"sched  {schedule.name} -> {schedule.function}: "
        "failed, Runtime.ExitError: Runtime exited with error: exit status 1\n"
    )


def test_stopping_ends_the_schedules_thread(schedule: FunctionSchedule) -> None:
    # Given a schedule whose next run is an hour away
    scheduled = ScheduledRuns(schedule, "{}", timedelta(hours=1), Runs(), Console(io.StringIO()), REGION, ACCOUNT_ID)
    scheduled.start()

    # When
    scheduled.stop()

    # Then it stopped at once, without running
    assert not [thread for thread in threading.enumerate() if thread.name == f"schedule-{schedule.name}"]


def test_an_input_that_is_not_json_fails_at_start_up(schedule: FunctionSchedule) -> None:
    with pytest.raises(ValueError, match="Expecting value"):
        ScheduledRuns(schedule, "not json", timedelta(hours=1), Runs(), Console(io.StringIO()), REGION, ACCOUNT_ID)


# --- How often ----------------------------------------------------------------------------------------


def test_the_local_interval_replaces_any_schedules_own(template: SamTemplate) -> None:
    stack = LocalStack(StackOptions(schedule_interval=30), template=template)

    assert stack.local_period(_rule()) == timedelta(seconds=30)
    assert stack.local_period(
        FunctionSchedule("Job", "Nightly", "ScheduleV2", "cron(0 3 * * ? *)", None, True, {})
    ) == (timedelta(seconds=30))


def test_without_a_local_interval_a_rate_runs_at_its_own_rate_and_a_cron_not_at_all(template: SamTemplate) -> None:
    stack = LocalStack(StackOptions(schedule_interval=None), template=template)

    assert stack.local_period(_rule()) == timedelta(hours=1)
    assert (
        stack.local_period(FunctionSchedule("Job", "Nightly", "ScheduleV2", "cron(0 3 * * ? *)", None, True, {}))
        is None
    )
