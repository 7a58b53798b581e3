"""A deployed stack, seen through its outputs: where `make seed` and `make publish-frontend` find things."""

import argparse
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from tools.sam_template import ROOT


def outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def deployed_with(config_file: Path = ROOT / "samconfig.toml") -> dict[str, str]:
    """stack_name, region and profile as `sam deploy` reads them from its config file (`--guided` saves them)."""
    config = tomllib.loads(config_file.read_text())["default"]
    found = {**config.get("global", {}).get("parameters", {}), **config.get("deploy", {}).get("parameters", {})}
    return {name: found[name] for name in ("stack_name", "region", "profile") if name in found}


def session_from_args(description: str, argv: list[str] | None = None) -> tuple[boto3.Session, str]:
    """Parse --config-file/--stack-name/--region/--profile, the options every deploy-time command takes."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--config-file", type=Path, default=ROOT / "samconfig.toml", help="as `sam deploy`'s")
    known, _ = first.parse_known_args(argv)
    try:
        defaults = deployed_with(known.config_file)
    except (OSError, ValueError, LookupError, AttributeError, TypeError) as error:  # TOMLDecodeError: ValueError
        first.error(f"{known.config_file}: not a TOML SAM config file with a [default] environment ({error!r})")
    parser = argparse.ArgumentParser(description=description, parents=[first])
    parser.add_argument("--stack-name", default=defaults.get("stack_name"), help="default: the config file's")
    parser.add_argument("--region", default=defaults.get("region"), help="default: the config file's, else AWS's")
    parser.add_argument("--profile", default=defaults.get("profile"), help="default: the config file's, else AWS's")
    args = parser.parse_args(argv)
    if not args.stack_name:
        parser.error("no stack name: pass --stack-name (make: STACK_NAME=...)")
    return boto3.Session(profile_name=args.profile, region_name=args.region), args.stack_name


def run(command: Callable[[boto3.Session, str], str], description: str) -> None:
    """Run a deploy-time command on the stack named on the command line; a plain message if AWS says no."""
    session, stack_name = session_from_args(description)
    try:
        print(command(session, stack_name))
    except NoRegionError:
        sys.exit("No AWS region: pass REGION=... to make (--region), or set AWS_DEFAULT_REGION")
    except NoCredentialsError:
        sys.exit("No AWS credentials: pass PROFILE=... to make (--profile), or configure the AWS CLI's")
    except (BotoCoreError, ClientError) as error:
        sys.exit(f"{stack_name}: {error}")
