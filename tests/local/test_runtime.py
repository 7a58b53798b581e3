"""A function's local execution environment: what the handler sees, warm and cold starts, errors, timeouts."""

import os
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local.runtime import FunctionConfig, FunctionRuntime
from tools.sam_template import Function

HANDLERS = """
import os
import sys
import time

invocations = 0


def echo(event, context):
    global invocations
    invocations += 1
    print("handling", event)
    return {
        "event": event,
        "invocations": invocations,
        "pid": os.getpid(),
        "sysPath0": sys.path[0],
        "cwd": os.getcwd(),
        "environment": dict(os.environ),
        "context": {
            "functionName": context.function_name,
            "functionVersion": context.function_version,
            "invokedFunctionArn": context.invoked_function_arn,
            "memoryLimitInMb": context.memory_limit_in_mb,
            "awsRequestId": context.aws_request_id,
            "logGroupName": context.log_group_name,
            "remainingMs": context.get_remaining_time_in_millis(),
        },
    }


def fail(event, context):
    raise ValueError("no such gig")


def hang(event, context):
    print("started, and never ends")
    time.sleep(60)


def unserialisable(event, context):
    return {"when": object()}
"""


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    package = tmp_path / "handlers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(textwrap.dedent(HANDLERS))
    return tmp_path


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def runtime_for(code_dir: Path, log: Log) -> Iterator[type[FunctionRuntime]]:
    started: list[FunctionRuntime] = []

    def start(handler: str, timeout: int = 3) -> FunctionRuntime:
        function = Function(
            "EchoFunction",
            {"CodeUri": str(code_dir), "Handler": f"handlers.app.{handler}", "Timeout": timeout, "MemorySize": 256},
        )
        aws = {"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5050"}
        runtime = FunctionRuntime(FunctionConfig.from_template(function, {"GIGS_TABLE_NAME": "GigsTable"}, aws), log)
        started.append(runtime)
        return runtime

    yield start  # type: ignore[misc]
    for runtime in started:
        runtime.stop()


def test_the_handler_sees_what_lambda_gives_it(runtime_for, code_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given something in this process's environment that Lambda would not have
    monkeypatch.setenv("DEVELOPER_SECRET", "not for functions")
    runtime = runtime_for("echo")

    # When
    invocation = runtime.invoke({"hello": "world"})

    # Then: its event, its code first on sys.path, the template's variables and Lambda's, a context
    assert invocation.error is None
    result = invocation.response
    assert result["event"] == {"hello": "world"}
    assert result["sysPath0"] == result["cwd"] == str(code_dir.resolve())
    environment = result["environment"]
    assert environment["GIGS_TABLE_NAME"] == "GigsTable"
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5050"
    assert environment["LAMBDA_TASK_ROOT"] == str(code_dir.resolve())
    assert environment["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"
    assert environment["AWS_SAM_LOCAL"] == "true"
    assert "DEVELOPER_SECRET" not in environment
    context = result["context"]
    assert context["functionName"] == "EchoFunction"
    assert context["functionVersion"] == "$LATEST"
    assert context["invokedFunctionArn"] == "arn:aws:lambda:eu-west-1:123456789012:function:EchoFunction"
    assert context["memoryLimitInMb"] == "256"
    assert context["awsRequestId"] == invocation.request_id
    assert 0 < context["remainingMs"] <= 3000


def test_warm_invocations_reuse_the_process_and_its_module_state(runtime_for) -> None:
    runtime = runtime_for("echo")

    first, second = runtime.invoke({}), runtime.invoke({})

    assert (first.response["invocations"], second.response["invocations"]) == (1, 2)
    assert first.response["pid"] == second.response["pid"]


def test_what_the_handler_prints_is_its_log_not_its_result(runtime_for, log: Log) -> None:
    invocation = runtime_for("echo").invoke({"n": 1})

    assert "handling {'n': 1}" in log
    assert any(line.startswith(f"REPORT RequestId: {invocation.request_id}") for line in log)


def test_an_exception_is_a_function_error_and_the_process_survives(runtime_for, log: Log) -> None:
    # Given
    runtime = runtime_for("fail")

    # When
    first, second = runtime.invoke({}), runtime.invoke({})

    # Then
    assert first.error is not None
    assert (first.error.type, first.error.message) == ("ValueError", "no such gig")
    assert "[ERROR] ValueError: no such gig" in log
    assert second.error == first.error
    assert sum(line.startswith("REPORT") and "Init Duration" in line for line in log) == 1  # one cold start


def test_a_process_that_died_between_invocations_is_replaced_by_a_cold_start(runtime_for, log: Log) -> None:
    # Given a warm environment whose process is then killed while idle
    runtime = runtime_for("echo")
    first = runtime.invoke({})
    os.kill(first.response["pid"], signal.SIGKILL)
    os.waitid(os.P_PID, first.response["pid"], os.WEXITED | os.WNOWAIT)  # dead, not yet reaped

    # When
    second = runtime.invoke({})

    # Then the request that never reached the dead process is served by a new one
    assert second.error is None
    assert second.response["pid"] != first.response["pid"]
    assert second.response["invocations"] == 1
    assert sum(line.startswith("REPORT") and "Init Duration" in line for line in log) == 2


def test_an_invocation_past_the_timeout_is_killed_and_the_next_one_starts_cold(runtime_for, log: Log) -> None:
    # Given a handler that never returns, and a 1 s timeout
    runtime = runtime_for("hang", timeout=1)

    # When
    first = runtime.invoke({})
    second = runtime.invoke({})

    # Then
    assert first.error is not None
    assert first.error.type == "Sandbox.Timedout"
    assert first.error.message == "Task timed out after 1.00 seconds"
    assert 1000 <= first.duration_ms < 3000
    assert any(line.endswith(f"{first.request_id} Task timed out after 1.00 seconds") for line in log)
    assert second.error is not None
    assert second.error.type == "Sandbox.Timedout"
    assert sum(line == "started, and never ends" for line in log) == 2


def test_a_handler_that_cannot_be_imported_fails_every_invocation_as_lambda_reports_it(runtime_for) -> None:
    invocation = runtime_for("no_such_handler").invoke({})

    assert invocation.error is not None
    assert invocation.error.type == "Runtime.HandlerNotFound"
    assert invocation.error.message == "Handler 'no_such_handler' missing on module 'handlers.app'"


def test_a_response_that_is_not_json_is_a_marshal_error(runtime_for) -> None:
    invocation = runtime_for("unserialisable").invoke({})

    assert invocation.error is not None
    assert invocation.error.type == "Runtime.MarshalError"


def test_after_stop_an_invocation_fails_at_once(runtime_for) -> None:
    runtime = runtime_for("echo")
    runtime.stop()

    invocation = runtime.invoke({})

    assert invocation.error is not None
    assert invocation.error.type == "Runtime.Stopped"
