"""A deployed stack, seen through its outputs: where `make seed` and `make publish-frontend` find things."""

import argparse
from typing import Any

import boto3


def outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def session_from_args(description: str) -> tuple[boto3.Session, str]:
    """Parse --stack-name/--region/--profile, the options every deploy-time command takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--stack-name", required=True, help="the stack `sam deploy` created (samconfig.toml: ticket-shop)"
    )
    parser.add_argument("--region", help="defaults to your AWS configuration's")
    parser.add_argument("--profile", help="defaults to your AWS configuration's")
    args = parser.parse_args()
    return boto3.Session(profile_name=args.profile, region_name=args.region), args.stack_name
