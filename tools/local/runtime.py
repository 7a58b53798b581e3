"""Each function in a child process of its own, as Lambda runs it in an execution environment of its own.

The child (`bootstrap.py`) gets only the environment Lambda would give the function, imports the handler
once and then serves invocations, so cold and warm starts, module-level state and the function's settings
behave as they will on Lambda. This side enforces the function's Timeout: a child that overruns is killed,
and the next invocation starts a new one, as Lambda does.

Protocol: a JSON request per line on the child's stdin; a JSON result per line on a pipe of its own, so
that whatever the function prints (Powertools' JSON logs, EMF metrics) stays its log and cannot be mistaken
for a result.
"""

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tools.provision import ACCOUNT_ID
from tools.sam_template import Function

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# Lambda's limit for the init phase of an on-demand function.
INIT_TIMEOUT_SECONDS = 10
# How long a child has to exit by itself once its stdin is closed, before it is killed.
EXIT_GRACE_SECONDS = 1
# How long an invocation's result waits for the end of its log, which comes through another pipe.
LOG_CATCH_UP_SECONDS = 1


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment is made of: the code, its time limit and its environment."""

    name: str
    code_dir: Path
    timeout_seconds: int
    environment: dict[str, str]  # complete (the handler and the memory size are in it): the child sees nothing else

    @classmethod
    def from_template(
        cls, function: Function, variables: Mapping[str, str], aws_environment: Mapping[str, str]
    ) -> "FunctionConfig":
        """`variables`: the template's, resolved; `aws_environment`: endpoint, fake credentials and region."""
        return cls(
            name=function.logical_id,
            code_dir=function.code_uri.resolve(),
            timeout_seconds=function.timeout,
            environment=lambda_environment(function, variables, aws_environment),
        )

    @property
    def arn(self) -> str:
        region = self.environment.get("AWS_REGION", "us-east-1")
        return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}"


def lambda_environment(
    function: Function, variables: Mapping[str, str], aws_environment: Mapping[str, str]
) -> dict[str, str]:
    """The environment Lambda's python3.13 runtime gives the function (as `sam local` sets it), and PATH."""
    code_dir = str(function.code_uri.resolve())
    return {
        **variables,  # first: Lambda rejects a template that sets any of the reserved variables below
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": code_dir,
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "$LATEST",
        "AWS_SAM_LOCAL": "true",
        # Lambda has no ~/.aws: neither should the function here, or a developer's profile could leak in.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **aws_environment,
    }


@dataclass(frozen=True)
class FunctionError:
    """A failed invocation, as Lambda reports it: the handler raised, timed out, or its runtime died."""

    type: str
    message: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> "FunctionError":
        return cls(str(payload["errorType"]), str(payload["errorMessage"]))

    def payload(self) -> dict[str, str]:
        return {"errorType": self.type, "errorMessage": self.message}


@dataclass(frozen=True)
class Invocation:
    request_id: str
    duration_ms: float
    response: Any = None
    error: FunctionError | None = None

    @property
    def payload(self) -> Any:
        """What `aws lambda invoke` would print: the response, or the error."""
        return self.error.payload() if self.error else self.response


LogSink = Callable[[str], None]


class FunctionRuntime:
    """One function's execution environment; serves one invocation at a time, like one Lambda instance."""

    def __init__(self, config: FunctionConfig, log: LogSink) -> None:
        self.config = config
        self._log = log
        self._invoke_lock = threading.Lock()  # one invocation at a time
        self._state_lock = threading.Lock()  # `stop` may come from another thread mid-invocation
        self._child: _Child | None = None
        self._stopped = False

    def start(self) -> FunctionError | None:
        """Cold-start the child now rather than on the first invocation; returns why it failed, if it did."""
        with self._invoke_lock:
            return self._ensure_child()[1]

    def invoke(self, event: Any) -> Invocation:
        with self._invoke_lock:
            request_id = str(uuid.uuid4())
            started = time.monotonic()
            child, init_error = self._ensure_child()
            if child is None:
                error = init_error or FunctionError("Runtime.Stopped", "The local stack is stopping")
                return Invocation(request_id, _ms_since(started), error=error)
            deadline = time.time() + self.config.timeout_seconds
            request = {
                "requestId": request_id,
                "deadlineMs": int(deadline * 1000),
                "invokedFunctionArn": self.config.arn,
                "event": event,
            }
            try:
                result = child.call(request, self.config.timeout_seconds)
            except TimeoutError:
                self._discard_child(kill=True)  # first, so that its last log lines come before the timeout's
                message = f"Task timed out after {self.config.timeout_seconds:.2f} seconds"
                self._log(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} {message}")
                return Invocation(request_id, _ms_since(started), error=FunctionError("Sandbox.Timedout", message))
            duration_ms = _ms_since(started)
            if result is None:
                self._discard_child()
                exit_code = child.exit_code()
                message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {exit_code}"
                return Invocation(request_id, duration_ms, error=FunctionError("Runtime.ExitError", message))
            if "error" in result:
                return Invocation(request_id, duration_ms, error=FunctionError.from_payload(result["error"]))
            return Invocation(request_id, duration_ms, response=result["response"])

    @property
    def pid(self) -> int | None:
        """The execution environment's process id, while it has one: what a test kills to play a crash."""
        with self._state_lock:
            return self._child.pid if self._child else None

    def stop(self) -> None:
        """End the child; an invocation still running fails (its batch goes back to the queue)."""
        with self._state_lock:
            self._stopped = True
        self._discard_child()

    def _ensure_child(self) -> tuple["_Child | None", FunctionError | None]:
        if self._child is not None and not self._child.alive:
            self._discard_child()  # it died between invocations (killed by hand): the next request starts cold
        if self._child is not None or self._stopped:
            return self._child, None
        child = _Child.spawn(self.config, self._log)
        if init_error := child.wait_until_ready(INIT_TIMEOUT_SECONDS):
            child.stop()
            return None, init_error
        with self._state_lock:
            if not self._stopped:
                self._child = child
                return child, None
        child.stop()
        return None, None

    def _discard_child(self, kill: bool = False) -> None:
        with self._state_lock:
            child, self._child = self._child, None
        if child:
            child.stop(kill)


class _Child:
    """The child process, the threads that read its log and its results, and the pipes between."""

    def __init__(self, process: subprocess.Popen[bytes], results: IO[bytes], log: LogSink) -> None:
        self._process = process
        self._results: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._log_progress = threading.Condition()
        self._last_report: str | None = None  # the request id of the last REPORT line logged
        self._threads = [
            threading.Thread(target=self._read_results, args=(results,), daemon=True),
            threading.Thread(target=self._read_log, args=(log,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def spawn(cls, config: FunctionConfig, log: LogSink) -> "_Child":
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
                # -I: isolated, so neither PYTHON* variables nor the current directory shape the function's imports.
                [sys.executable, "-I", str(BOOTSTRAP), str(write_end)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=config.code_dir,
                env=config.environment,
                pass_fds=(write_end,),
                # A process group of its own: Ctrl-C reaches the local stack, which then stops its children.
                process_group=0,
            )
        finally:
            os.close(write_end)  # the child holds it now; when the child dies, its results pipe ends
        return cls(process, os.fdopen(read_end, "rb"), log)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def wait_until_ready(self, timeout: float) -> FunctionError | None:
        try:
            message = self._results.get(timeout=timeout)
        except queue.Empty:
            return FunctionError("Runtime.InitTimeout", f"The handler was not loaded within {timeout} seconds")
        if message is None:
            return FunctionError("Runtime.ExitError", f"Runtime exited with error: exit status {self.exit_code()}")
        if "initError" in message:
            return FunctionError.from_payload(message["initError"])
        return None

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The child's result, or None if it died; raises TimeoutError if it did not answer in time."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError):  # it died, or is being stopped
            return None
        try:
            result = self._results.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        # The bootstrap logs REPORT before it sends the result: once that line is through, the invocation's
        # log is complete (and, on the console, before the line about the request).
        with self._log_progress:
            self._log_progress.wait_for(lambda: self._last_report == request["requestId"], LOG_CATCH_UP_SECONDS)
        return result

    def exit_code(self) -> int | None:
        try:
            return self._process.wait(timeout=EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, kill: bool = False) -> None:
        """Let the child end (it does once its stdin closes), or kill it at once (a timeout on Lambda)."""
        if kill:
            self._process.kill()
        if self._process.stdin and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()  # the bootstrap's loop ends, and with it the process
        try:
            self._process.wait(timeout=EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()  # still busy in the handler: stopping mid-invocation
            self._process.wait()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def _read_results(self, results: IO[bytes]) -> None:
        with results:
            for line in results:
                try:
                    self._results.put(json.loads(line))
                except ValueError:  # a line cut short by a kill: the end of this child anyway
                    break
        self._results.put(None)  # the child is gone

    def _read_log(self, log: LogSink) -> None:
        assert self._process.stdout is not None
        with self._process.stdout:
            for raw in self._process.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                log(line)
                if line.startswith("REPORT RequestId: "):
                    with self._log_progress:
                        self._last_report = line.split()[2]
                        self._log_progress.notify_all()


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000


class FunctionLog:
    """A function's log: its own output and the runtime's lines, into a file and, optionally, the console."""

    def __init__(self, path: Path | None, echo: LogSink | None = None) -> None:
        self._lock = threading.Lock()
        self._echo = echo
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")  # this run's log only

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._file:
                self._file.write(line + "\n")
                self._file.flush()
            if self._echo:
                self._echo(line)

    def close(self) -> None:
        with self._lock:
            if self._file:
                self._file.close()
                self._file = None
