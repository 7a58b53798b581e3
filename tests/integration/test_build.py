"""`sam build` produces artifacts that stand on their own, as Lambda will run them, with bytecode it uses as is.

Lambda runs the arm64 build; this machine may not be arm64, so the arm64 artifacts are checked for their
native code and their bytecode, and a build for this machine's architecture is imported and invoked the way
Lambda starts a function (tools/lambda_like.py): a fresh Python 3.13 whose path holds only the artifact and
boto3. Both builds start from an empty dependency cache, as on a fresh clone.
"""

import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEMPLATE, load_event
from tools import lambda_like

ELF_MACHINE = {b"\xb7\x00": "aarch64", b"\x3e\x00": "x86_64"}
PYC_UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, do not check the source
SAM_ZIP_EPOCH = time.mktime((1980, 1, 1, 0, 0, 0, 0, 0, -1))  # the time SAM's zip gives every file
HANDLER_PACKAGES = {name: function.handler.split(".")[0] for name, function in TEMPLATE.functions.items()}


@pytest.fixture(scope="module")
def dependency_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dependency-cache")


@pytest.fixture(scope="module")
def arm64_build(tmp_path_factory: pytest.TempPathFactory, dependency_cache: Path) -> Path:
    built = lambda_like.sam_build(tmp_path_factory.mktemp("arm64") / "build", cache=dependency_cache)
    return built.parent


@pytest.fixture(scope="module")
def native_build(tmp_path_factory: pytest.TempPathFactory, dependency_cache: Path) -> Path:
    work = tmp_path_factory.mktemp("native")
    built = lambda_like.sam_build(
        work / "build", architecture=lambda_like.native_architecture(), cache=dependency_cache
    )
    return built.parent


@pytest.fixture(scope="module")
def runtime_boto3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 alone, as the python3.13 runtime has it: the only thing on the path besides the artifact."""
    return lambda_like.runtime_boto3(tmp_path_factory.mktemp("runtime"))


def elf_machine(library: Path) -> str:
    return ELF_MACHINE.get(library.read_bytes()[18:20], "unknown")


def files(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


@pytest.mark.parametrize("function", sorted(TEMPLATE.functions))
def test_the_arm64_artifact_holds_arm64_native_code_and_no_sdk_or_tests(arm64_build: Path, function: str) -> None:
    artifact = arm64_build / function
    libraries = list(artifact.rglob("*.so"))
    requirements = (TEMPLATE.functions[function].code_uri / "requirements.txt").read_text()

    if "pydantic==" in requirements:  # gigs and tickets need no native code at all
        assert libraries, "pydantic-core's native library should be in the artifact"
    assert {elf_machine(library) for library in libraries} <= {"aarch64"}
    assert not [name for name in ("boto3", "botocore", "s3transfer") if (artifact / name).exists()]
    assert not [path for path in artifact.rglob("tests") if path.is_dir()]


def test_each_artifact_ships_its_handler_and_no_other_function_code(arm64_build: Path) -> None:
    for function in HANDLER_PACKAGES:
        code_uri = TEMPLATE.functions[function].code_uri
        others = {
            other_package
            for other, other_package in HANDLER_PACKAGES.items()
            if TEMPLATE.functions[other].code_uri != code_uri
        }
        handler_module = TEMPLATE.functions[function].handler.rpartition(".")[0].replace(".", "/")
        assert (arm64_build / function / f"{handler_module}.py").is_file()
        assert not [other for other in others if (arm64_build / function / other).exists()], function


@pytest.mark.parametrize("function", sorted(TEMPLATE.functions))
def test_every_module_has_python_3_13_bytecode_that_is_never_checked_against_its_source(
    arm64_build: Path, function: str
) -> None:
    artifact = arm64_build / function
    sources = sorted(artifact.rglob("*.py"))

    stale_or_missing = []
    for source in sources:
        bytecode = Path(importlib.util.cache_from_source(str(source)))
        header = bytecode.read_bytes()[:16] if bytecode.is_file() else b""
        if not (
            header[:4] == importlib.util.MAGIC_NUMBER
            and int.from_bytes(header[4:8], "little") == PYC_UNCHECKED_HASH
            and header[8:16] == importlib.util.source_hash(source.read_bytes())
        ):
            stale_or_missing.append(str(source.relative_to(artifact)))
    other_bytecode = [
        str(path.relative_to(artifact))
        for path in artifact.rglob("*.pyc")
        if not path.name.endswith(f".{sys.implementation.cache_tag}.pyc")
    ]

    assert sources
    assert stale_or_missing == []
    assert other_bytecode == []


@pytest.mark.parametrize("source_time", ["1980", "an hour from now"])
@pytest.mark.parametrize("function", sorted(TEMPLATE.functions))
def test_a_cold_start_from_a_read_only_copy_compiles_nothing_whatever_the_sources_times(
    native_build: Path, runtime_boto3: Path, tmp_path: Path, function: str, source_time: str
) -> None:
    artifact = tmp_path / function
    _copy(native_build / function, artifact)
    stamp = SAM_ZIP_EPOCH if source_time == "1980" else time.time() + 3600
    for source in artifact.rglob("*.py"):
        os.utime(source, (stamp, stamp))
    _make_read_only(artifact)
    before = files(artifact)

    started = cold_start(artifact, runtime_boto3, function)

    assert started["compiled"] == []
    assert files(artifact) == before


def test_without_bytecode_a_cold_start_compiles_every_module_it_imports(
    native_build: Path, runtime_boto3: Path, tmp_path: Path
) -> None:
    artifact = tmp_path / "PurchaseFunction"
    _copy(native_build / "PurchaseFunction", artifact, without="__pycache__")

    started = cold_start(artifact, runtime_boto3, "PurchaseFunction")

    assert "purchase/app.py" in started["compiled"]
    assert "pydantic/main.py" in started["compiled"]


def test_the_build_is_byte_identical_wherever_it_runs(
    arm64_build: Path, tmp_path: Path, dependency_cache: Path
) -> None:
    again = lambda_like.sam_build(tmp_path / "elsewhere" / "build", cache=dependency_cache).parent

    for function in TEMPLATE.functions:
        assert files(again / function) == files(arm64_build / function), function


def _copy(source: Path, destination: Path, without: str | None = None) -> None:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(without) if without else None)


def _make_read_only(directory: Path) -> None:
    # As /var/task; root may write anyway, hence the check that nothing changed.
    for path in [*directory.rglob("*"), directory]:
        path.chmod(path.stat().st_mode & ~0o222)


def cold_start(artifact: Path, runtime: Path, function: str) -> dict[str, Any]:
    declared = TEMPLATE.functions[function]
    environment = lambda_like.environment(declared, artifact, runtime)
    module = declared.handler.rpartition(".")[0]

    result = lambda_like.python(lambda_like.COLD_START, [module], environment, cwd=artifact, timeout=120)

    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


INVOKE = """
import importlib, json, sys
from types import SimpleNamespace
module, _, name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module), name)
context = SimpleNamespace(function_name="f", function_version="$LATEST", memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", aws_request_id="r",
    get_remaining_time_in_millis=lambda: 30000)
try:
    outcome = {"response": handler(json.loads(sys.stdin.read()), context)}
except Exception as error:
    outcome = {"error": type(error).__name__}
print(json.dumps(outcome, default=int))
"""


def invoke_like_lambda(artifact: Path, runtime: Path, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Import the handler and invoke it once, the way Lambda starts the function: nothing but it and boto3.

    Returns {"response": ...} or {"error": "<exception type>"}.
    """
    declared = TEMPLATE.functions[function]
    # Nothing listens on port 9: no AWS is reached.
    environment = lambda_like.environment(declared, artifact, runtime, {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    result = lambda_like.python(
        INVOKE, [declared.handler], environment, input=json.dumps(event), cwd=artifact, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def test_the_built_purchase_function_answers_a_bad_request_on_its_own(native_build: Path, runtime_boto3: Path) -> None:
    outcome = invoke_like_lambda(
        native_build / "PurchaseFunction", runtime_boto3, "PurchaseFunction", load_event("purchase-malformed-json.json")
    )

    assert outcome["response"]["statusCode"] == 400


def test_the_built_worker_function_rejects_a_poison_batch_on_its_own(native_build: Path, runtime_boto3: Path) -> None:
    poison = load_event("worker-batch-poison.json")
    poison["Records"] = poison["Records"][1:2]

    outcome = invoke_like_lambda(native_build / "WorkerFunction", runtime_boto3, "WorkerFunction", poison)

    assert outcome == {"error": "BatchProcessingError"}


def test_the_built_gigs_function_answers_503_when_it_cannot_reach_its_table(
    native_build: Path, runtime_boto3: Path
) -> None:
    outcome = invoke_like_lambda(
        native_build / "GigsFunction", runtime_boto3, "GigsFunction", load_event("gig-get.json")
    )

    assert outcome["response"]["statusCode"] == 503
