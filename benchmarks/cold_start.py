"""Cold init, measured the way Lambda starts a function, against a bare boto3 handler; and the zips' sizes.

    make bench      or, after make build:      .venv/bin/python -m benchmarks.cold_start [--runs 7] [--importtime 10]

For each function of the built template: a fresh Python 3.13 process (no site-packages, PYTHONDONTWRITEBYTECODE=1,
the path holding only the artifact and boto3 alone, the function's environment from the template) imports the
handler's module and calls its cached getters, the way the first request builds the function's clients. The bare
handler is a module that imports boto3 and builds the same clients (found by watching the function build them)
with plain boto3. Between the two, the libraries' floor: the bare handler that first imports every library module
the function loaded from its artifact (pydantic, Powertools...), none of ours; the function's time less this
one is what our own code costs. Four variants take turns, each run in a new process: the artifact as built, the
same artifact without its bytecode (what SAM's python_pip workflow ships), the libraries' floor and the bare
handler. Medians of --runs each.

This machine may not run arm64 code: the imports use a build for its own architecture (a copy of template.yml
built into .aws-sam/bench/); the sizes are the arm64 build's (.aws-sam/build), zipped as `sam deploy` zips them.
"""

import argparse
import json
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import lambda_like
from tools.sam_template import ROOT, Function

BUILD = ROOT / ".aws-sam" / "build"
BENCH = ROOT / ".aws-sam" / "bench"

# Imports the handler's module, calls the getters, prints the seconds both took.
MEASURE = """
import importlib, sys, time
started = time.perf_counter()
module = importlib.import_module(sys.argv[1])
for getter in sys.argv[2:]:
    getattr(module, getter)()
print(time.perf_counter() - started)
"""

BARE_HANDLER = '''"""A bare handler: boto3 and the same clients, nothing else."""
from functools import cache

import boto3
from botocore.config import Config

CLIENTS = {clients!r}


@cache
def _clients():
    return [boto3.client(service, config=Config(**options)) for service, options in CLIENTS]


def lambda_handler(event, context):
    return _clients()
'''

# The bare handler, after importing what the function's libraries loaded (its artifact is on the path).
LIBRARIES_HANDLER = '''"""The libraries' floor: their modules, boto3 and the same clients; none of our code."""
import importlib

for name in {modules!r}:
    importlib.import_module(name)

from bare_handler import _clients, lambda_handler  # noqa: E402
'''


@dataclass
class Variant:
    function: Function
    artifact: Path
    module: str
    getters: list[str]
    environment: dict[str, str]

    def seconds(self) -> float:
        result = lambda_like.python(MEASURE, [self.module, *self.getters], self.environment, cwd=self.artifact)
        if result.returncode != 0:
            raise RuntimeError(f"{self.function.logical_id} ({self.artifact}) failed:\n{result.stderr}")
        return float(result.stdout)

    def importtime(self, runs: int) -> list[tuple[float, str]]:
        """(median self time in µs, module) for every module imported, from `python -X importtime`."""
        own: dict[str, list[int]] = {}
        for _ in range(runs):
            arguments = [self.module, *self.getters]
            result = lambda_like.python(MEASURE, arguments, self.environment, ("-X", "importtime"), cwd=self.artifact)
            for line in result.stderr.splitlines():
                if line.startswith("import time:") and "self [us]" not in line:
                    microseconds, _, name = line.removeprefix("import time:").split("|")
                    own.setdefault(name.strip(), []).append(int(microseconds))
        return sorted(((statistics.median(times), name) for name, times in own.items()), reverse=True)


def subjects(built_template: Path, boto3: Path, scratch: Path) -> dict[str, list[Variant]]:
    """For each function: the artifact as built, the artifact without bytecode, and its bare handler."""
    found = {}
    for name, (function, artifact) in lambda_like.built_functions(built_template).items():
        module = function.handler.rpartition(".")[0]
        environment = lambda_like.environment(function, artifact, boto3)
        discovered = lambda_like.python(lambda_like.COLD_START, [module], environment, cwd=artifact)
        if discovered.returncode != 0:
            raise RuntimeError(f"{name} does not start:\n{discovered.stderr}")
        plan: dict[str, Any] = json.loads(discovered.stdout)

        sources_only = scratch / name / "sources-only"
        shutil.copytree(artifact, sources_only, ignore=shutil.ignore_patterns("__pycache__"))
        bare = scratch / name / "bare"
        bare.mkdir()
        (bare / "bare_handler.py").write_text(BARE_HANDLER.format(clients=plan["clients"]))
        own_package = module.partition(".")[0]
        libraries = [loaded for loaded in plan["modules"] if loaded.partition(".")[0] != own_package]
        (bare / "libraries_handler.py").write_text(LIBRARIES_HANDLER.format(modules=libraries))
        found[name] = [
            Variant(function, artifact, module, plan["getters"], environment),
            Variant(function, sources_only, module, plan["getters"], {**environment, **_path(sources_only, boto3)}),
            Variant(function, bare, "libraries_handler", ["_clients"], {**environment, **_path(bare, artifact, boto3)}),
            Variant(function, bare, "bare_handler", ["_clients"], {**environment, **_path(bare, boto3)}),
        ]
    return found


def _path(*directories: Path) -> dict[str, str]:
    return {"LAMBDA_TASK_ROOT": str(directories[0]), "PYTHONPATH": ":".join(map(str, directories))}


def measure(variants: list[Variant], runs: int) -> list[float]:
    """Median seconds of each variant, taking turns (in a rotating order) so that noise hits them alike."""
    times: list[list[float]] = [[] for _ in variants]
    for run in range(runs):
        order = list(range(len(variants)))
        order = order[run % len(order) :] + order[: run % len(order)]
        for index in order:
            times[index].append(variants[index].seconds())
    return [statistics.median(each) for each in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs of each variant (default 7)")
    parser.add_argument(
        "--importtime",
        type=int,
        metavar="N",
        help="also list each function's N slowest imports (a module imported through importlib, as pydantic loads "
        "its parts, is not listed: its time counts in the self time of the module that asked for it)",
    )
    args = parser.parse_args()
    if not (BUILD / "template.yaml").is_file():
        parser.error("no build: run make build first")

    architecture = lambda_like.native_architecture()
    print(f"Building for this machine ({architecture}) into {BENCH.relative_to(ROOT)}/ ...", flush=True)
    native = lambda_like.sam_build(BENCH / "build", architecture=architecture)
    boto3 = lambda_like.runtime_boto3(BENCH / "runtime-boto3")
    with tempfile.TemporaryDirectory() as scratch:
        found = subjects(native, boto3, Path(scratch))
        print(f"\nCold init (import + cached getters), median of {args.runs}; zipped size of the arm64 build")
        header = (
            "function", "bytecode", "sources only", "libraries only", "bare boto3",
            "ratio", "ratio w/o bc", "libraries' ratio", "ours", "zip", "w/o bc",
        )  # fmt: skip
        print("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
        for name, variants in found.items():
            built, sources_only, libraries, bare = measure(variants, args.runs)
            zipped = lambda_like.zipped_size(BUILD / name)
            with tempfile.TemporaryDirectory() as copy:
                shutil.copytree(BUILD / name, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
                zipped_sources = lambda_like.zipped_size(Path(copy))
            print(
                f"| {name} | {built * 1000:.0f} ms | {sources_only * 1000:.0f} ms | {libraries * 1000:.0f} ms "
                f"| {bare * 1000:.0f} ms | {built / bare:.2f}x | {sources_only / bare:.2f}x | {libraries / bare:.2f}x "
                f"| {(built - libraries) * 1000:.0f} ms | {zipped / 1e6:.1f} MB | {zipped_sources / 1e6:.1f} MB |",
                flush=True,
            )
        if args.importtime:
            for name, variants in found.items():
                modules = variants[0].importtime(args.runs)
                packages: dict[str, float] = {}
                for microseconds, module in modules:
                    package = ".".join(module.split(".")[: 3 if module.startswith("aws_lambda_powertools.") else 1])
                    packages[package] = packages.get(package, 0) + microseconds
                print(f"\n{name} (bytecode build), median self time of {args.runs} `-X importtime` runs:")
                print(f"  {'module':<52} {'ms':>6}    {'package (sum)':<40} {'ms':>6}")
                by_package = sorted(((t, p) for p, t in packages.items()), reverse=True)
                top = zip(modules[: args.importtime], by_package[: args.importtime], strict=False)
                for (module_time, module), (package_time, package) in top:
                    print(f"  {module:<52} {module_time / 1000:6.1f}    {package:<40} {package_time / 1000:6.1f}")


if __name__ == "__main__":
    main()
