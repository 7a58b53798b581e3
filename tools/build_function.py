"""`sam build`'s recipe for every function: wheels for Lambda's architecture and bytecode Lambda uses as is.

Each function's `Metadata` in template.yml says `BuildMethod: makefile` and `ContextPath: functions`, so
`sam build` copies the function's CodeUri to a scratch directory and runs functions/Makefile's
`build-<LogicalId>` there with ARTIFACTS_DIR set. Its one pattern rule runs, for every function:

    python -m tools.build_function <LogicalId> --source <that copy> --artifacts <ARTIFACTS_DIR>

1. Dependencies: the function's requirements.txt, wheels only, for the function's `Architectures` and
   its runtime's Python (manylinux up to glibc 2.34, the python3.13 runtime's), without what the runtime
   provides (boto3, botocore, s3transfer) and without pip's bookkeeping; compiled (3.), kept in
   .aws-sam/site-packages/ under a hash of requirements.txt, target and this recipe, and copied from
   there. SAM's `--cached` skips nothing for makefile builds, so this cache is what makes a rebuild quick.
2. The function's code, copied from the source without caches or stray bytecode.
3. Bytecode for every .py, by this interpreter, which must be the runtime's Python version, with
   `unchecked-hash` invalidation: Python loads it without comparing the source's timestamp, which SAM's
   zip sets to 1980 anyway, and never tries to write a fresher one into read-only /var/task. Paths
   inside the bytecode are /var/task/..., where Lambda unpacks the code, so a build is byte-identical
   wherever it runs and an unchanged function is not redeployed.

The template is template.yml, or SAM_TEMPLATE_FILE (which `sam build` itself reads instead of
--template-file): Makefile targets get no architecture from SAM (aws/aws-sam-cli#3349), so the recipe
reads it where SAM does.
"""

import argparse
import compileall
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from py_compile import PycInvalidationMode

from tools.sam_template import ROOT, TEMPLATE_PATH, Function, SamTemplate, load

# Where Lambda unpacks the function: the path tracebacks and co_filename show.
TASK_ROOT = "/var/task"
CACHE = ROOT / ".aws-sam" / "site-packages"

# The python3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): the manylinux tags SAM's own Python
# builder accepts for them.
MANYLINUX = {
    "arm64": ["manylinux_2_34_aarch64", "manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "x86_64": ["manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
}
# The runtime provides them; a copy in the artifact would shadow its SDK (/var/task comes first on the path).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# pip's records of the install; nothing reads them at run time. METADATA and entry_points.txt stay:
# pydantic checks email-validator's version and looks for plugins, dnspython checks idna's version.
INSTALL_RECORDS = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
# What python_pip leaves out of a function's source: caches, this machine's bytecode and native builds.
SOURCE_JUNK = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.so", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.egg-info", ".DS_Store"
)


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """What Lambda runs the function on: a CPython version and an architecture."""

    python: tuple[int, int]
    architecture: str

    @classmethod
    def of(cls, function: Function) -> "Target":
        version = re.fullmatch(r"python(\d+)\.(\d+)", function.runtime)
        if version is None:
            raise BuildError(f"{function.logical_id}: {function.runtime} is not a Python runtime")
        if function.architecture not in MANYLINUX:
            raise BuildError(f"{function.logical_id}: unknown architecture {function.architecture}")
        return cls((int(version[1]), int(version[2])), function.architecture)

    @property
    def tag(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}-{self.architecture}"

    def pip_options(self) -> list[str]:
        major, minor = self.python
        return [
            "--only-binary=:all:",
            "--implementation=cp",
            f"--python-version={major}.{minor}",
            f"--abi=cp{major}{minor}",
            *(f"--platform={platform}" for platform in MANYLINUX[self.architecture]),
        ]


def build(function: Function, source: Path, artifacts: Path, cache: Path = CACHE) -> None:
    """Put `function`'s dependencies and code, compiled for its runtime, into `artifacts`."""
    target = Target.of(function)
    if sys.version_info[:2] != target.python:
        raise BuildError(
            f"{function.logical_id} runs on {function.runtime}: its bytecode must come from Python "
            f"{target.python[0]}.{target.python[1]}, not {sys.version.split()[0]} ({sys.executable})"
        )
    module = source.joinpath(*function.handler.split(".")[:-1])
    if not (module.with_suffix(".py").is_file() or (module / "__init__.py").is_file()):
        raise BuildError(f"{function.logical_id}: {source} has no module for its handler {function.handler}")

    artifacts.mkdir(parents=True, exist_ok=True)
    requirements = source / "requirements.txt"
    if requirements.is_file():
        shutil.copytree(compiled_dependencies(requirements, target, cache), artifacts, dirs_exist_ok=True)
    shutil.copytree(source, artifacts, ignore=SOURCE_JUNK, dirs_exist_ok=True)
    names = [entry.name for entry in source.iterdir()]
    for name in sorted(set(names) - SOURCE_JUNK(str(source), names)):
        if not _compile(artifacts / name, f"{TASK_ROOT}/{name}", workers=1):
            raise BuildError(f"{function.logical_id}: {name} does not compile (see above)")


def compiled_dependencies(requirements: Path, target: Target, cache: Path) -> Path:
    """The installed, pruned and compiled requirements: from the cache, or built into it."""
    recipe = hashlib.sha256(Path(__file__).read_bytes() + requirements.read_bytes() + target.tag.encode())
    folder = cache / f"{target.tag}-{recipe.hexdigest()[:16]}"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f"{folder.name}.lock").open("w") as lock:
        # `sam build --parallel` builds functions with the same requirements at once: one builds, the others wait.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if folder.is_dir():
            return folder
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache))
        try:
            _install(requirements, target, staging)
            _prune(staging)
            if not _compile(staging, TASK_ROOT, workers=0):
                print("Some dependencies did not compile (see above): Lambda compiles them at each cold start.")
            staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return folder


def _install(requirements: Path, target: Target, into: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += ["--target", str(into), *target.pip_options(), "--requirement", str(requirements)]
    subprocess.run(command, check=True)  # noqa: S603 (this interpreter's pip)


def _prune(site: Path) -> None:
    doomed = [site / "bin", *site.glob("*.data")]  # console scripts and data for an installer to place
    for package in RUNTIME_PROVIDED:
        doomed += [site / package, *site.glob(f"{package}-*.dist-info")]
    doomed += [path for path in site.rglob("tests") if path.is_dir()]
    doomed += [dist_info / name for dist_info in site.glob("*.dist-info") for name in INSTALL_RECORDS]
    for path in doomed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)  # a tests/ inside another tests/ may be gone already
        else:
            path.unlink(missing_ok=True)


def _compile(path: Path, path_at_run_time: str, workers: int) -> bool:
    """Compile `path` (a .py file or a directory of them) for this interpreter, named as Lambda will find it."""
    mode = PycInvalidationMode.UNCHECKED_HASH
    if path.is_dir():
        return bool(
            compileall.compile_dir(
                path, ddir=path_at_run_time, quiet=1, force=True, workers=workers, invalidation_mode=mode
            )
        )
    if path.suffix == ".py":
        directory = path_at_run_time.rpartition("/")[0]
        return bool(compileall.compile_file(path, ddir=directory, quiet=1, force=True, invalidation_mode=mode))
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="the function's logical id")
    parser.add_argument("--source", type=Path, default=Path.cwd(), help="a copy of its CodeUri (default: here)")
    parser.add_argument("--artifacts", type=Path, default=os.environ.get("ARTIFACTS_DIR"), help="$ARTIFACTS_DIR")
    parser.add_argument("--template", type=Path, default=os.environ.get("SAM_TEMPLATE_FILE") or TEMPLATE_PATH)
    cache = os.environ.get("FUNCTION_BUILD_CACHE") or CACHE
    parser.add_argument("--cache", type=Path, default=cache, help="FUNCTION_BUILD_CACHE, or .aws-sam/site-packages")
    args = parser.parse_args()
    if args.artifacts is None:
        parser.error("--artifacts or ARTIFACTS_DIR is required")
    functions = SamTemplate(load(ROOT / args.template)).functions
    if args.function not in functions:
        parser.error(f"{args.template} has no function {args.function}")
    try:
        build(functions[args.function], args.source.resolve(), args.artifacts.resolve(), args.cache)
    except BuildError as error:
        sys.exit(f"build-{args.function}: {error}")


if __name__ == "__main__":
    main()
