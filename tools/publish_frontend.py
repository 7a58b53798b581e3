"""Publish frontend/ to a deployed stack: `make publish-frontend [STACK_NAME=ticket-shop]`.

Uploads the site to the stack's bucket with a `/.well-known/settings.json` that points at the
stack's API, deletes what no longer exists locally, then invalidates the CloudFront cache.
"""

import json
import mimetypes
import time
from pathlib import Path
from typing import Any

import boto3

from tools import stack
from tools.sam_template import ROOT

FRONTEND = ROOT / "frontend"
SETTINGS_KEY = ".well-known/settings.json"
# File names carry no content hash, so browsers must revalidate (a cheap 304) rather than trust a copy.
CACHE_CONTROL = "no-cache"
_NOT_PUBLISHED = {"README.md"}
_CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def site_files(root: Path = FRONTEND) -> dict[str, Path]:
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in _NOT_PUBLISHED
    }


def content_type(key: str) -> str:
    suffix = Path(key).suffix
    return _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def publish(
    s3: Any, cloudfront: Any, bucket: str, distribution_id: str, api_url: str, root: Path = FRONTEND
) -> list[str]:
    """Make the bucket hold exactly the site plus its settings, and have CloudFront serve the new copy."""
    uploads = {key: path.read_bytes() for key, path in site_files(root).items()}
    uploads[SETTINGS_KEY] = json.dumps({"apiBaseUrl": api_url}).encode()
    for key, body in uploads.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(key), CacheControl=CACHE_CONTROL)
    stale = [
        {"Key": item["Key"]}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
        if item["Key"] not in uploads
    ]
    if stale:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale, "Quiet": True})
    cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"publish-{time.time_ns()}"},
    )
    return sorted(uploads)


def publish_stack(session: boto3.Session, stack_name: str) -> str:
    found = stack.outputs(session.client("cloudformation"), stack_name)
    keys = publish(
        session.client("s3"),
        session.client("cloudfront"),
        bucket=found["FrontendBucketName"],
        distribution_id=found["FrontendDistributionId"],
        api_url=found["ApiUrl"],
    )
    url = found["FrontendUrl"]
    return f"Published {len(keys)} files; {url} serves them once the invalidation completes (a minute or two)"


if __name__ == "__main__":
    stack.run(publish_stack, __doc__ or "")
