"""The whole shop on your machine, from template.yml: what `make dev` runs, and what tests can start.

The embedded AWS is provisioned from the template; each function runs in its own runtime with the
environment the template gives it; the HTTP API, the queue's event source mapping, the schedules, the
outbox and the frontend sit around them. Nothing here names a queue, a table, a route or a schedule: they
all come from the template.
"""

import errno
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from tools.local.api import Cors, LocalApi
from tools.local.aws import EmbeddedAws, PortInUse
from tools.local.console import Console, display_path
from tools.local.event_source import EventSourceMapping
from tools.local.frontend import FrontendServer, security_headers
from tools.local.outbox import Outbox
from tools.local.runtime import FunctionConfig, FunctionLog, FunctionRuntime
from tools.local.scheduler import ScheduledRuns
from tools.provision import ACCOUNT_ID, LocalResources, provision
from tools.sam_template import ROOT, FunctionSchedule, SamTemplate

STATE_DIR = ROOT / ".local"


@dataclass(frozen=True)
class StackOptions:
    """`make dev`'s defaults. Port 0 means any free port (what tests use)."""

    api_port: int = 3000
    frontend_port: int = 8080
    aws_port: int = 5050
    outbox_dir: Path = STATE_DIR / "outbox"
    logs_dir: Path = STATE_DIR / "logs"
    # The template's 180 s (6 x the worker's timeout) would make a failed message take 15 minutes to reach
    # the dead-letter queue; None keeps it.
    visibility_timeout: int | None = 10
    # The template's schedules run this often here (rate(5 minutes) would leave you waiting); None runs each
    # rate(...) schedule at its own rate, and cron(...) and at(...) schedules not at all.
    schedule_interval: int | None = 30
    # Template parameters, as `sam deploy --parameter-overrides` takes them; the template's defaults otherwise.
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    verbose: bool = False
    host: str = "127.0.0.1"


class LocalStack:
    def __init__(
        self, options: StackOptions | None = None, console: Console | None = None, template: SamTemplate | None = None
    ) -> None:
        self.options = options or StackOptions()
        self.console = console or Console()
        self.template = template or SamTemplate()
        self.resources: LocalResources | None = None
        self._aws: EmbeddedAws | None = None
        self._logs: list[FunctionLog] = []
        self._runtimes: dict[str, FunctionRuntime] = {}
        self._outbox: Outbox | None = None
        self._api: LocalApi | None = None
        self._frontend: FrontendServer | None = None
        self._mappings: list[EventSourceMapping] = []
        self._schedules: list[ScheduledRuns] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- What tests and the command line need to know ---------------------------------------------

    @property
    def api_url(self) -> str:
        return _started(self._api).url

    @property
    def frontend_url(self) -> str:
        return _started(self._frontend).url

    @property
    def aws_endpoint(self) -> str:
        return _started(self._aws).endpoint_url

    @property
    def outbox_dir(self) -> Path:
        return self.options.outbox_dir

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS."""
        return _started(self._aws).client(service)

    def runtime(self, function: str) -> FunctionRuntime:
        """The execution environment of the template's `function` (a logical id)."""
        return self._runtimes[function]

    # --- Starting and stopping --------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; returns once the API, the frontend and every function are ready."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        options, template = self.options, self.template
        if errors := template.parameter_errors(options.parameter_overrides):
            raise InvalidParameters(errors)
        self._aws = aws = EmbeddedAws(options.aws_port, options.host)
        aws.start()
        self.resources = resources = provision(template, aws.session(), dict(options.parameter_overrides))
        self._shorten_visibility_timeouts()
        self._start_runtimes()

        self._outbox = Outbox(options.outbox_dir, aws.sent_emails, self.console, aws.send_email_request)
        self._outbox.start()

        cors_configuration = template.http_api_cors()
        cors = Cors.from_template(cors_configuration, resources) if cors_configuration else None
        routes = template.http_routes()
        self._api = _listening(
            "HTTP API",
            "--api-port",
            options,
            options.api_port,
            lambda: LocalApi(routes, self._runtimes, cors, self.console, options.host, options.api_port),
        )
        self._api.start()

        api_url = self._api.url
        headers = security_headers(template, resources, api_origin=api_url)
        self._frontend = _listening(
            "frontend",
            "--frontend-port",
            options,
            options.frontend_port,
            lambda: FrontendServer(api_url, headers, self.console, host=options.host, port=options.frontend_port),
        )
        self._frontend.start()

        sqs = aws.client("sqs")
        for mapping in template.queue_mappings():
            runtime = self._runtimes[mapping.function]
            queue_url, queue_arn = resources.ref(mapping.queue), resources.get_att(mapping.queue, "Arn")
            poller = EventSourceMapping(mapping, queue_url, queue_arn, sqs, runtime, self.console)
            self._mappings.append(poller)
            poller.start()

        for schedule in template.schedules():
            period = self.local_period(schedule)
            if not schedule.enabled or period is None:
                continue  # the summary says why
            input_text = None if schedule.input is None else str(resources.resolve(schedule.input))
            runtime = self._runtimes[schedule.function]
            runs = ScheduledRuns(schedule, input_text, period, runtime.invoke, self.console, aws.region, ACCOUNT_ID)
            self._schedules.append(runs)
            runs.start()

    def local_period(self, schedule: FunctionSchedule) -> timedelta | None:
        """How often `schedule` runs here; None if it does not (a cron(...) or at(...) with no local interval)."""
        if self.options.schedule_interval is not None:
            return timedelta(seconds=self.options.schedule_interval)
        return schedule.rate()

    def drain(self, timeout: float) -> dict[str, int]:
        """Take no new requests or scheduled runs, and let the pollers deliver what the queues hold.

        The embedded AWS keeps everything in memory: what is still on a queue when the stack stops is gone,
        the confirmation of an order already answered 202 with it. Waits until every mapped queue is empty,
        or `timeout` seconds; returns the messages each queue still holds (a failed one waits out its
        visibility timeout before it is delivered again).
        """
        deadline = time.monotonic() + timeout
        for runs in self._schedules:
            runs.stop_scheduling()
        api = self._api
        self._stop_servers()
        if api:  # a purchase accepted just before may still be queueing its confirmation
            api.wait_until_answered(max(deadline - time.monotonic(), 0))
        if self._aws is None or self.resources is None:
            return {}
        sqs, resources = self._aws.client("sqs"), self.resources
        queues = sorted({poller.mapping.queue for poller in self._mappings})
        while True:
            held = {queue: _messages_held(sqs, resources.ref(queue)) for queue in queues}
            if not any(held.values()) or time.monotonic() >= deadline:
                return {queue: count for queue, count in held.items() if count}
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop in an order that loses nothing; safe after a failed start, and more than once.

        No new batches, runs or requests; then the runtimes (an invocation still running fails, and its
        batch goes back to the queue, as after a crash); then the pollers and schedules; the outbox writes
        the last emails; the embedded AWS goes last.
        """
        for mapping in self._mappings:
            mapping.stop_polling()
        for runs in self._schedules:
            runs.stop_scheduling()
        self._stop_servers()
        _side_by_side(FunctionRuntime.stop, self._runtimes.values())
        for mapping in self._mappings:
            mapping.stop()
        self._mappings = []
        for runs in self._schedules:
            runs.stop()
        self._schedules = []
        if self._outbox:
            self._outbox.stop()
            self._outbox = None
        for log in self._logs:
            log.close()
        if self._aws:
            self._aws.stop()
            self._aws = None

    def _stop_servers(self) -> None:
        for server in (self._api, self._frontend):
            if server:
                server.stop()
        self._api = self._frontend = None

    def _shorten_visibility_timeouts(self) -> None:
        if self.options.visibility_timeout is None:
            return
        sqs = _started(self._aws).client("sqs")
        for queue in sorted({mapping.queue for mapping in self.template.queue_mappings()}):
            sqs.set_queue_attributes(
                QueueUrl=_started(self.resources).ref(queue),
                Attributes={"VisibilityTimeout": str(self.options.visibility_timeout)},
            )

    def _start_runtimes(self) -> None:
        aws, resources = _started(self._aws), _started(self.resources)
        for name, function in self.template.functions.items():
            config = FunctionConfig.from_template(function, resources.environment(function), aws.client_environment())
            echo = (lambda line, name=name: self.console.line(name, line)) if self.options.verbose else None
            log = FunctionLog(self.options.logs_dir / f"{name}.log", echo)
            self._logs.append(log)
            self._runtimes[name] = FunctionRuntime(config, log)
        failures = dict(zip(self._runtimes, _side_by_side(FunctionRuntime.start, self._runtimes.values()), strict=True))
        for name, error in failures.items():
            if error:
                self.console.line("lambda", f"{name} failed to start ({error.type}: {error.message}); see its log")

    # --- What it prints once ready ----------------------------------------------------------------

    def summary(self) -> list[str]:
        """The start-up banner: where everything is, and what behaves differently from AWS."""
        indent = " " * 14
        lines = [f"  Frontend  {self.frontend_url}", f"  API       {self.api_url}"]
        routes = sorted(_started(self._api).router.routes, key=lambda route: (route.path, route.method))
        width = max((len(route.path) for route in routes), default=0)
        lines += [f"{indent}{route.method:<6} {route.path:<{width}} -> {route.function}" for route in routes]
        lines.append(
            f"  AWS       {self.aws_endpoint}  (moto in this process; {_started(self._aws).region}, any credentials)"
        )
        queues = self.template.of_type("AWS::SQS::Queue")
        for poller in self._mappings:
            mapping = poller.mapping
            failures = ", ReportBatchItemFailures" if mapping.report_batch_item_failures else ""
            lines.append(
                f"  Queue     {mapping.queue} -> {mapping.function}"
                f"  (batch {mapping.batch_size}, window {mapping.batching_window_seconds} s{failures})"
            )
            if (visibility := self.options.visibility_timeout) is not None:
                on_aws = queues[mapping.queue].get("VisibilityTimeout", 30)
                lines.append(f"{indent}failed messages reappear after {visibility} s here; {on_aws} s on AWS")
            if poller.max_receive_count:
                receives, dead_letters = poller.max_receive_count, poller.dead_letter_queue
                lines.append(f"{indent}after {receives} receives a message moves to {dead_letters}")
        for schedule in self.template.schedules():
            what = "EventBridge Scheduler" if schedule.event_type == "ScheduleV2" else "EventBridge rule"
            event = "its Input" if schedule.input is not None else "no Input"
            lines.append(
                f"  Schedule  {schedule.name} -> {schedule.function}  ({schedule.event_type}: {what}, {event})"
            )
            lines.append(f"{indent}{self._describe_period(schedule)}")
        for name, value in self.options.parameter_overrides.items():
            default = self.template.document["Parameters"][name].get("Default")
            lines.append(f"  Parameter {name}={value} here; the template's default is {default}")
        echoed = "" if self.options.verbose else "  (--verbose: here too)"
        lines.append(f"  Outbox    {display_path(self.outbox_dir)}/")
        lines.append(f"  Logs      {display_path(self.options.logs_dir)}/<Function>.log{echoed}")
        return lines

    def _describe_period(self, schedule: FunctionSchedule) -> str:
        """`runs every 30 s here; rate(5 minutes) on AWS`, or why it does not run."""
        on_aws = f"{schedule.expression} on AWS"
        if not schedule.enabled:
            return f"disabled in the template: not run here either ({on_aws} once enabled)"
        period = self.local_period(schedule)
        if period is None:
            return f"not run here: {on_aws}, which is not evaluated here (--schedule-interval runs it every N s)"
        return f"runs every {_seconds(period)} here; {on_aws}"

    def ready_line(self) -> str:
        """One line that says the stack is ready, and where: for people, scripts and tests alike."""
        return f"Local stack ready: frontend {self.frontend_url}  api {self.api_url}  aws {self.aws_endpoint}"


class InvalidParameters(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("parameters the template would refuse: " + "; ".join(errors))


def _seconds(period: timedelta) -> str:
    seconds = period.total_seconds()
    return f"{int(seconds)} s" if seconds.is_integer() else f"{seconds} s"


def _messages_held(sqs: Any, queue_url: str) -> int:
    """The messages on a queue: waiting, delayed, or received and not yet deleted."""
    names = [f"ApproximateNumberOfMessages{kind}" for kind in ("", "NotVisible", "Delayed")]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def _side_by_side[T, R](action: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`action` on every item at once: starting or stopping a function's process is mostly waiting for it."""
    items = list(items)
    with ThreadPoolExecutor(max_workers=len(items) or 1) as pool:
        return list(pool.map(action, items))


def _started[T](component: T | None) -> T:
    if component is None:
        raise RuntimeError("the local stack is not started")
    return component


def _listening[T](what: str, option: str, options: StackOptions, port: int, create: Callable[[], T]) -> T:
    """`create()`, a server listening on `port`, or the PortInUse error that says which option to change."""
    try:
        return create()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(what, options.host, port, option) from None
        raise
