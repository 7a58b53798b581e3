"""What a cold start costs before the first request: importing each handler, and each artifact's size.

    make build && .venv/bin/python -m benchmarks.cold_start [--runs 7]

Imports run in a fresh `python3.13 -I` with only the artifact and boto3 on the path, as in the
build test. Run it after `make build` for an x86_64 machine's view of the arm64 build's sizes; the
imports use the venv's packages (this machine may not run arm64 code).
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from tools.sam_template import ROOT, SamTemplate

BUILD = ROOT / ".aws-sam" / "build"


def import_seconds(function: str) -> float:
    declared = SamTemplate().functions[function]
    module = declared.handler.rpartition(".")[0]
    site = next(Path(sys.prefix, "lib").glob("python3.*/site-packages"))
    script = (
        f"import sys, time; sys.path[:0] = [{str(declared.code_uri)!r}, {str(site)!r}]; "
        f"started = time.perf_counter(); import {module}; print(time.perf_counter() - started)"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "TicketShop",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, env=environment, check=True
    )
    return float(result.stdout)


def size_mb(path: Path) -> float:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"{'function':<18} {'import (median of ' + str(args.runs) + ')':>24} {'artifact':>10}")
    for function in SamTemplate().functions:
        median = statistics.median(import_seconds(function) for _ in range(args.runs))
        artifact = f"{size_mb(BUILD / function):.1f} MB" if (BUILD / function).is_dir() else "not built"
        print(f"{function:<18} {median * 1000:>21.0f} ms {artifact:>10}")


if __name__ == "__main__":
    main()
