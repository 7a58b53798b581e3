"""The whole shop on your machine, from template.yml: what `make dev` runs, and what tests can start.

The embedded AWS is provisioned from the template; each function runs in its own runtime with the
environment the template gives it; the HTTP API, the queue's event source mapping, the outbox and the
frontend sit around them. Nothing here names a queue, a table or a route: they all come from the template.
"""

import errno
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from tools.local.api import Cors, LocalApi
from tools.local.aws import EmbeddedAws, PortInUse
from tools.local.console import Console, display_path
from tools.local.event_source import EventSourceMapping
from tools.local.frontend import FrontendServer, security_headers
from tools.local.outbox import Outbox
from tools.local.runtime import FunctionConfig, FunctionLog, FunctionRuntime
from tools.provision import LocalResources, provision
from tools.sam_template import ROOT, SamTemplate

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
        self._aws = aws = EmbeddedAws(options.aws_port, options.host)
        aws.start()
        self.resources = resources = provision(template, aws.session())
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

    def stop(self) -> None:
        """Stop in an order that loses nothing; safe after a failed start, and more than once.

        No new batches, no new requests; then the runtimes (an invocation still running fails, and its
        batch goes back to the queue, as after a crash); then the pollers; the outbox writes the last
        emails; the embedded AWS goes last.
        """
        for mapping in self._mappings:
            mapping.stop_polling()
        for server in (self._api, self._frontend):
            if server:
                server.stop()
        self._api = self._frontend = None
        _side_by_side(FunctionRuntime.stop, self._runtimes.values())
        for mapping in self._mappings:
            mapping.stop()
        self._mappings = []
        if self._outbox:
            self._outbox.stop()
            self._outbox = None
        for log in self._logs:
            log.close()
        if self._aws:
            self._aws.stop()
            self._aws = None

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
        lines += [f"{indent}{route.method:<6} {route.path:<16} -> {route.function}" for route in routes]
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
        echoed = "" if self.options.verbose else "  (--verbose: here too)"
        lines.append(f"  Outbox    {display_path(self.outbox_dir)}/")
        lines.append(f"  Logs      {display_path(self.options.logs_dir)}/<Function>.log{echoed}")
        return lines

    def ready_line(self) -> str:
        """One line that says the stack is ready, and where: for people, scripts and tests alike."""
        return f"Local stack ready: frontend {self.frontend_url}  api {self.api_url}  aws {self.aws_endpoint}"


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
