"""`make dev`: the whole shop on your machine until Ctrl-C. `python -m tools.local --help` for the options."""

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tools.local.aws import PortInUse
from tools.local.console import Console
from tools.local.stack import LocalStack, StackOptions
from tools.sam_template import SamTemplate

# On Ctrl-C, how long the queues get to deliver what they hold: a batch takes a second or two here.
DRAIN_SECONDS = 5


def parse_args(argv: list[str] | None = None) -> StackOptions:
    defaults = StackOptions()
    parser = argparse.ArgumentParser(
        prog="python -m tools.local",
        description="Run the ticket shop locally from template.yml: embedded AWS (moto), the functions, "
        "the HTTP API, the queue's event source mapping, an email outbox and the frontend.",
    )
    parser.add_argument("--api-port", type=int, default=defaults.api_port, help="0: any free port")
    parser.add_argument("--frontend-port", type=int, default=defaults.frontend_port, help="0: any free port")
    parser.add_argument("--aws-port", type=int, default=defaults.aws_port, help="0: any free port")
    parser.add_argument(
        "--outbox",
        type=Path,
        default=Path(os.environ.get("OUTBOX_DIR", defaults.outbox_dir)),
        help="where sent emails are written as .eml files (default: $OUTBOX_DIR or .local/outbox)",
    )
    parser.add_argument(
        "--logs", type=Path, default=defaults.logs_dir, help="where each function's log is written (.local/logs)"
    )
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=defaults.visibility_timeout,
        metavar="SECONDS",
        help="the mapped queues' VisibilityTimeout here, so failed messages come back in seconds rather than "
        "minutes (default: %(default)s; the template's value applies on AWS)",
    )
    parser.add_argument(
        "--schedule-interval",
        type=int,
        default=defaults.schedule_interval,
        metavar="SECONDS",
        help="how often the template's schedules run here (default: %(default)s); 0: each rate(...) at its own "
        "rate, and cron(...) and at(...) schedules not at all",
    )
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="template parameters, as `sam deploy` takes them, e.g. ReconcileAfterSeconds=60 to have the reconciler "
        "requeue a stuck ticket a minute after its purchase rather than ten (default: the template's defaults)",
    )
    parser.add_argument("--verbose", action="store_true", help="print the functions' logs here too")
    args = parser.parse_args(argv)
    if args.schedule_interval < 0:
        parser.error("--schedule-interval: 0 or more seconds")
    overrides = dict(override.partition("=")[::2] for override in args.parameter_overrides)
    if malformed := [override for override in args.parameter_overrides if "=" not in override]:
        parser.error(f"--parameter-overrides: NAME=VALUE, not {' '.join(malformed)}")
    if errors := SamTemplate().parameter_errors(overrides):
        parser.error("--parameter-overrides: " + "; ".join(errors))
    return StackOptions(
        api_port=args.api_port,
        frontend_port=args.frontend_port,
        aws_port=args.aws_port,
        outbox_dir=args.outbox,
        logs_dir=args.logs,
        visibility_timeout=args.visibility_timeout,
        schedule_interval=args.schedule_interval or None,
        parameter_overrides=overrides,
        verbose=args.verbose,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    console = Console()
    stop_requested = _stop_on_signals()

    console.print("Starting the local stack from template.yml...")
    stack = LocalStack(options, console)
    try:
        stack.start()
    except PortInUse as error:
        console.print(str(error))
        return 1
    console.print()
    for line in stack.summary():
        console.print(line)
    console.print()
    console.print(stack.ready_line())
    console.print("Ctrl-C to stop")

    while not stop_requested.wait(timeout=1):
        pass
    console.print(f"Stopping: no new orders; delivering what the queues hold (up to {DRAIN_SECONDS} s)...")
    try:
        for queue, count in stack.drain(DRAIN_SECONDS).items():
            noun = "message" if count == 1 else "messages"
            console.print(f"{queue}: {count} {noun} not delivered, gone with the embedded AWS (its state is in memory)")
    finally:
        stack.stop()
    console.print("Stopped.")
    return 0


def _stop_on_signals() -> threading.Event:
    """Ctrl-C or SIGTERM asks for a clean stop; a second one stops at once."""
    requested = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if requested.is_set():
            os.write(sys.stderr.fileno(), b"\nStopping at once.\n")
            os._exit(1)  # the functions' processes end by themselves when their stdin closes
        requested.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return requested


if __name__ == "__main__":
    sys.exit(main())
