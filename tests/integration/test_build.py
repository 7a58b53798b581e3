"""`sam build` produces artifacts that stand on their own, as Lambda will run them.

Lambda runs the arm64 build; this machine may not be arm64, so the arm64 artifacts are checked for
their native code, and a build for this machine's architecture is imported and invoked in a fresh
Python 3.13 whose path holds only the artifact and boto3 (which the Lambda runtime provides).
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEMPLATE, load_event
from tools.sam_template import ROOT

SAM = ROOT / ".venv" / "bin" / "sam"
BOTO3 = next(line for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if line.startswith("boto3=="))
ELF_MACHINE = {b"\xb7\x00": "aarch64", b"\x3e\x00": "x86_64"}


def sam_build(template: Path, build_dir: Path) -> None:
    result = subprocess.run(
        [SAM, "build", "--template-file", template, "--base-dir", ROOT, "--build-dir", build_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def arm64_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("arm64") / "build"
    sam_build(ROOT / "template.yml", build_dir)
    return build_dir


@pytest.fixture(scope="module")
def native_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("native")
    machine = "arm64" if platform.machine() in {"aarch64", "arm64"} else "x86_64"
    template = work / "template.yml"
    template.write_text(
        (ROOT / "template.yml").read_text().replace("Architectures: [arm64]", f"Architectures: [{machine}]")
    )
    sam_build(template, work / "build")
    return work / "build"


@pytest.fixture(scope="module")
def runtime_boto3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 alone, as the python3.13 runtime has it: the only thing on the path besides the artifact."""
    target = tmp_path_factory.mktemp("runtime")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", target, BOTO3], check=True, timeout=600
    )
    return target


def elf_machine(library: Path) -> str:
    return ELF_MACHINE.get(library.read_bytes()[18:20], "unknown")


@pytest.mark.parametrize("function", sorted(TEMPLATE.functions))
def test_the_arm64_artifact_holds_arm64_native_code_and_no_sdk(arm64_build: Path, function: str) -> None:
    artifact = arm64_build / function
    libraries = list(artifact.rglob("*.so"))

    assert libraries, "pydantic-core's native library should be in the artifact"
    assert {elf_machine(library) for library in libraries} == {"aarch64"}
    assert not (artifact / "boto3").exists()
    assert not (artifact / "botocore").exists()
    assert not (artifact / "tests").exists()


def test_each_artifact_ships_only_its_own_function_code(arm64_build: Path) -> None:
    packages = {"GigsFunction": "gigs", "PurchaseFunction": "purchase", "WorkerFunction": "worker"}

    for function, package in packages.items():
        others = set(packages.values()) - {package}
        assert (arm64_build / function / package / "app.py").is_file()
        assert not any((arm64_build / function / other).exists() for other in others), function


def invoke_in_fresh_python(artifact: Path, runtime: Path, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Import the handler and invoke it once, in a new interpreter that sees only the artifact and boto3.

    Returns {"response": ...} or {"error": "<exception type>"}.
    """
    module, _, name = TEMPLATE.functions[function].handler.rpartition(".")
    script = f"""
import json, sys
from types import SimpleNamespace
sys.path[:0] = [{str(artifact)!r}, {str(runtime)!r}]
handler = getattr(__import__({module!r}, fromlist=[{name!r}]), {name!r})
context = SimpleNamespace(function_name="f", function_version="$LATEST", memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", aws_request_id="r",
    get_remaining_time_in_millis=lambda: 30000)
try:
    outcome = {{"response": handler(json.loads(sys.stdin.read()), context)}}
except Exception as error:
    outcome = {{"error": type(error).__name__}}
print(json.dumps(outcome, default=int))
"""
    environment = {
        "PATH": os.environ["PATH"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens there: no AWS is reached
        **{key: str(value) for key, value in TEMPLATE.global_environment.items()},
        **{
            key: f"http://127.0.0.1:9/{key.lower()}"
            for key in TEMPLATE.functions[function].environment
            if key not in os.environ
        },
        "SENDER_EMAIL": "tickets@example.com",
    }
    # -I: isolated mode, no site-packages, no PYTHONPATH, no user site: only what the script adds.
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=environment,
        cwd=artifact,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def test_the_built_purchase_function_answers_a_bad_request_on_its_own(native_build: Path, runtime_boto3: Path) -> None:
    outcome = invoke_in_fresh_python(
        native_build / "PurchaseFunction", runtime_boto3, "PurchaseFunction", load_event("purchase-malformed-json.json")
    )

    assert outcome["response"]["statusCode"] == 400


def test_the_built_worker_function_rejects_a_poison_batch_on_its_own(native_build: Path, runtime_boto3: Path) -> None:
    poison = load_event("worker-batch-poison.json")
    poison["Records"] = poison["Records"][1:2]

    outcome = invoke_in_fresh_python(native_build / "WorkerFunction", runtime_boto3, "WorkerFunction", poison)

    assert outcome == {"error": "BatchProcessingError"}


def test_the_built_gigs_function_answers_503_when_it_cannot_reach_its_table(
    native_build: Path, runtime_boto3: Path
) -> None:
    outcome = invoke_in_fresh_python(
        native_build / "GigsFunction", runtime_boto3, "GigsFunction", load_event("gig-get.json")
    )

    assert outcome["response"]["statusCode"] == 503
