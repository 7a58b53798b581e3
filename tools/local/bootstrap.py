"""The function's side of a local execution environment, in the role of Lambda's Python runtime bootstrap.

`runtime.FunctionRuntime` starts this file as a script, in isolated mode, with the environment Lambda would
give the function. It puts the function's code directory first on sys.path, imports the handler once (the
cold start), then serves invocations: one JSON request per line on stdin, one JSON result per line on the
pipe whose descriptor is argv[1]. stdout and stderr stay the function's own: they are its log.

Standard library only, and nothing from this repository: the function must import exactly what it would
on Lambda (its own code and the packages of the runtime), not the tools that run it.
"""

import importlib
import io
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """The context object the Lambda Python runtime passes to a handler, with the same attribute types."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        # A string, as on Lambda: code doing arithmetic on it should fail here, not first in production.
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class InitError(Exception):
    """The handler could not be loaded; `error_type` is the one Lambda reports for the cause."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def load_handler(handler: str) -> Handler:
    """`purchase.app.lambda_handler` -> the function, failing with the error types Lambda uses."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from error
    except SyntaxError as error:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}") from error
    try:
        function: Handler = getattr(module, function_name)
    except AttributeError:
        raise InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None
    return function


def main() -> None:
    results = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8")
    # Lambda's runtime writes each log line as it comes; buffered lines would be lost by a timeout's kill.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])

    init_started = time.monotonic()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as error:  # whatever the module raises on import fails the cold start, as on Lambda
        send(results, {"initError": failure(error)})
        sys.exit(1)
    init_ms: float | None = (time.monotonic() - init_started) * 1000
    send(results, {"ready": True})

    while line := sys.stdin.readline():
        send(results, invoke(handler, json.loads(line), init_ms))
        init_ms = None  # reported with the first invocation only, as Lambda's REPORT line does


def invoke(handler: Handler, request: dict[str, Any], init_ms: float | None) -> dict[str, Any]:
    request_id = request["requestId"]
    context = LambdaContext(request_id, request["deadlineMs"], request["invokedFunctionArn"])
    print(f"START RequestId: {request_id} Version: {context.function_version}")
    started = time.monotonic()
    result = _call(handler, request["event"], context)
    duration_ms = (time.monotonic() - started) * 1000
    print(f"END RequestId: {request_id}")
    init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
    print(
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {math.ceil(duration_ms)} ms"
        f"\tMemory Size: {context.memory_limit_in_mb} MB{init}"
    )
    return result


def _call(handler: Handler, event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        response = handler(event, context)
    except Exception as error:
        return {"error": failure(error)}
    try:
        json.dumps(response)
    except (TypeError, ValueError) as error:
        return {"error": failure(error, "Runtime.MarshalError", f"Unable to marshal response: {error}")}
    return {"response": response}


def failure(error: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Log the error, as the runtime does, and return it as Lambda's error payload."""
    error_type = error_type or getattr(error, "error_type", None) or type(error).__name__
    message = message or str(error)
    print(f"[ERROR] {error_type}: {message}", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)
    return {"errorType": error_type, "errorMessage": message, "stackTrace": traceback.format_tb(error.__traceback__)}


def send(results: TextIO, message: dict[str, Any]) -> None:
    results.write(json.dumps(message) + "\n")
    results.flush()


if __name__ == "__main__":
    main()
