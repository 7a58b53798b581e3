"""`make invoke`: run one function on one event against the embedded AWS, like `sam local invoke` without Docker.

    python -m tools.local.invoke PurchaseFunction events/purchase-valid.json

The function's logs go to stderr and its response, as JSON, to stdout, so `| jq` works. The exit code is 1
when the invocation failed. Like `sam local invoke`, this is a plain invoke: no event source mapping, so a
worker's `batchItemFailures` are printed, not acted on. Emails sent go to the outbox, as with `make dev`.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tools.local.aws import EmbeddedAws
from tools.local.console import Console
from tools.local.outbox import Outbox
from tools.local.runtime import FunctionConfig, FunctionLog, FunctionRuntime
from tools.local.stack import StackOptions
from tools.provision import provision
from tools.sam_template import SamTemplate


def main(argv: list[str] | None = None) -> int:
    template = SamTemplate()
    parser = argparse.ArgumentParser(prog="python -m tools.local.invoke", description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=sorted(template.functions), metavar="FUNCTION", help="a logical id")
    parser.add_argument("event", help="a JSON file, e.g. events/purchase-valid.json ('-': stdin)")
    args = parser.parse_args(argv)
    event = _read_event(args.event)

    stderr = Console(sys.stderr)  # stdout is the response's alone
    aws = EmbeddedAws()
    aws.start()
    runtime = None
    outbox_dir = Path(os.environ.get("OUTBOX_DIR", StackOptions().outbox_dir))
    outbox = Outbox(outbox_dir, aws.sent_emails, stderr, aws.send_email_request)
    try:
        # The tickets the sample worker events confirm, and the reconciler's sample run requeues, are in the ledger.
        resources = provision(template, aws.session(), sample_tickets=True)
        function = template.functions[args.function]
        config = FunctionConfig.from_template(function, resources.environment(function), aws.client_environment())
        runtime = FunctionRuntime(config, FunctionLog(path=None, echo=stderr.print))
        invocation = runtime.invoke(event)
        outbox.collect()
    finally:
        if runtime:
            runtime.stop()
        aws.stop()
    print(json.dumps(invocation.payload, indent=2))
    return 1 if invocation.error else 0


def _read_event(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return json.loads(text)


if __name__ == "__main__":
    sys.exit(main())
