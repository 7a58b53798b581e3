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
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config-file", type=Path, default=ROOT / "samconfig.toml", help="as `sam deploy`'s")
    parser.add_argument("--stack-name", help="default: the config file's")
    parser.add_argument("--region", help="default: the config file's, else AWS's")
    parser.add_argument("--profile", help="default: the config file's, else AWS's")
    args = parser.parse_args(argv)
    try:
        deployed = deployed_with(args.config_file)
    except (OSError, ValueError, LookupError, AttributeError, TypeError) as error:  # TOMLDecodeError: ValueError
        parser.error(f"{args.config_file}: not a TOML SAM config file with a [default] environment ({error!r})")
    stack_name = args.stack_name or deployed.get("stack_name")
    if not stack_name:
        parser.error("no stack name: pass --stack-name (make: STACK_NAME=...)")
    profile, region = args.profile or deployed.get("profile"), args.region or deployed.get("region")
    return boto3.Session(profile_name=profile, region_name=region), stack_name


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
