"""Built functions, run the way Lambda starts them: for the build tests and the cold-start benchmark.

A fresh Python 3.13 without site-packages (`-s -S -P`), whose path is the artifact and then boto3 alone
(the python3.13 runtime's, at the version requirements-dev.txt pins), with PYTHONDONTWRITEBYTECODE=1
because /var/task is read-only, and the environment Lambda gives the function: the template's
variables with stand-in values, no ~/.aws.
"""

import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from samcli.lib.package.utils import make_zip_with_lambda_permissions

from tools.local.runtime import lambda_environment
from tools.sam_template import PSEUDO_PARAMETERS, ROOT, TEMPLATE_PATH, Function, SamTemplate, load, resolve

SAM = Path(sys.executable).parent / "sam"
BOTO3 = next(line for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if line.startswith("boto3=="))
REGION = PSEUDO_PARAMETERS["AWS::Region"]
# Creating a client resolves credentials, from the environment as on Lambda: fake ones, so nothing reaches AWS.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "stand-in", "AWS_SECRET_ACCESS_KEY": "stand-in", "AWS_SESSION_TOKEN": "stand-in"}


# A cold start up to the first request: import the handler's module (argv[1]) and call its cached getters
# (functools.cache, no arguments), which build the function's settings and clients. Prints JSON: the getters,
# the clients they built (service, Config options), the sources Python compiled from LAMBDA_TASK_ROOT and the
# modules it loaded from there, in the order their imports began.
COLD_START = """
import importlib, inspect, json, os, sys
import botocore.session

root = os.path.join(os.environ["LAMBDA_TASK_ROOT"], "")
compiled, clients = [], []

def watch(event, args):
    if event == "compile" and isinstance(args[1], str) and args[1].startswith(root):
        compiled.append(args[1][len(root):])

create_client = botocore.session.Session.create_client

def recording(self, service_name, *args, **kwargs):
    options = getattr(kwargs.get("config"), "_user_provided_options", {})
    clients.append([service_name, {k: v for k, v in options.items() if isinstance(v, (int, float, str, dict))}])
    return create_client(self, service_name, *args, **kwargs)

sys.addaudithook(watch)
botocore.session.Session.create_client = recording
module = importlib.import_module(sys.argv[1])
getters = [
    name for name, value in vars(module).items()
    if hasattr(value, "cache_clear") and getattr(value, "__module__", None) == module.__name__
    and not inspect.signature(value).parameters
]
for getter in getters:
    getattr(module, getter)()
loaded = [name for name, each in sys.modules.items() if (getattr(each, "__file__", None) or "").startswith(root)]
print(json.dumps({"getters": getters, "clients": clients, "compiled": compiled, "modules": loaded}))
"""


def native_architecture() -> str:
    """The Lambda architecture this machine runs natively."""
    return "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"


def sam_build(build_dir: Path, architecture: str | None = None, cache: Path | None = None) -> Path:
    """`sam build` template.yml into `build_dir` (for `architecture` if given) and return the built template.

    Another architecture builds a copy of the template, passed as SAM_TEMPLATE_FILE: `sam build` and the
    functions' build recipe both read it. `cache` replaces the recipe's dependency cache (a cold build).
    """
    template = TEMPLATE_PATH
    if architecture is not None:
        template = build_dir.parent / "template.yml"
        template.parent.mkdir(parents=True, exist_ok=True)
        template.write_text(yaml.safe_dump(for_architecture(load(), architecture), sort_keys=False))
    environment = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "SAM_TEMPLATE_FILE": str(template),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    if cache is not None:
        environment["FUNCTION_BUILD_CACHE"] = str(cache)
    # samconfig.toml's settings (cached, parallel) as for `make build`: SAM looks for it beside the template only.
    # --cache-dir: SAM's own bookkeeping for this build stays beside it, away from .aws-sam's.
    command = [SAM, "build", "--config-file", ROOT / "samconfig.toml", "--base-dir", ROOT]
    command += ["--build-dir", build_dir, "--cache-dir", build_dir.parent / "cache"]
    result = subprocess.run(  # noqa: S603 (the venv's SAM CLI)
        [str(part) for part in command], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{result.stdout}{result.stderr}")
    return build_dir / "template.yaml"


def for_architecture(document: dict[str, Any], architecture: str) -> dict[str, Any]:
    """The template with every function on `architecture`."""
    document["Globals"]["Function"]["Architectures"] = [architecture]
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and "Architectures" in resource["Properties"]:
            resource["Properties"]["Architectures"] = [architecture]
    return document


def built_functions(built_template: Path) -> dict[str, tuple[Function, Path]]:
    """Each function of a `sam build` output, with its artifact directory."""
    functions = SamTemplate(load(built_template)).functions
    return {name: (f, built_template.parent / str(f.properties["CodeUri"])) for name, f in functions.items()}


def runtime_boto3(target: Path) -> Path:
    """boto3 alone, as the python3.13 runtime has it, installed into `target` (once)."""
    marker = target / f".{BOTO3}"
    if not marker.exists():
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"]
        subprocess.run([*pip, "--target", str(target), BOTO3], check=True, timeout=600)  # noqa: S603 (our own pip)
        marker.touch()
    return target


def environment(
    function: Function, artifact: Path, boto3: Path, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What Lambda gives the function's process, with stand-ins for its resources' names."""
    template = SamTemplate()
    parameters = template.parameters()

    def ref(name: str) -> Any:
        return PSEUDO_PARAMETERS.get(name, parameters.get(name, name))

    variables = {
        name: str(resolve(value, ref, lambda name, attribute: f"{name}.{attribute}"))
        for name, value in function.environment.items()
    }
    aws = {**CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    lambda_like = lambda_environment(function, variables, aws)
    del lambda_like["AWS_SAM_LOCAL"]
    return {
        **lambda_like,
        "LAMBDA_TASK_ROOT": str(artifact),
        "PYTHONPATH": os.pathsep.join([str(artifact), str(boto3)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(overrides or {}),
    }


def python(
    script: str, arguments: list[str], environment: Mapping[str, str], options: tuple[str, ...] = (), **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh Python 3.13 that sees only the standard library and PYTHONPATH."""
    # -s -S: no site-packages at all (-I alone would keep the venv's, and would ignore PYTHON* variables);
    # -P: not the current directory either.
    command = [sys.executable, "-s", "-S", "-P", *options, "-c", script, *arguments]
    return subprocess.run(  # noqa: S603 (our own interpreter)
        command, env=dict(environment), capture_output=True, text=True, check=False, **kwargs
    )


def zipped_size(artifact: Path) -> int:
    """The size of the zip `sam deploy` uploads for this artifact, zipped with SAM's own function."""
    with tempfile.TemporaryDirectory() as scratch:
        return Path(make_zip_with_lambda_permissions(str(Path(scratch, "artifact")), str(artifact))).stat().st_size


def unzipped_size(artifact: Path) -> int:
    return sum(file.stat().st_size for file in artifact.rglob("*") if file.is_file())
