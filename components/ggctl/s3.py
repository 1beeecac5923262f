"""Artifact storage: a region-correct bucket and uploads that skip objects whose SHA-256 already matches."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ggctl.errors import GgctlError, aws_errors

#: Object metadata holding the artifact's base64 SHA-256 (multipart uploads have no whole-object checksum).
SHA256_METADATA = "sha256"


def default_bucket(prefix: str, region: str, account: str) -> str:
    """GDK's naming, so that `gdk component publish` and `ggctl publish` share one bucket."""
    return f"{prefix}-{region}-{account}"


def ensure_bucket(s3: Any, bucket: str, region: str, dry_run: bool, report: Callable[[str], None]) -> None:
    """Creates ``bucket`` in ``region`` unless it exists; a bucket in another region is an error."""
    from botocore.exceptions import ClientError

    try:
        with aws_errors(f"checking bucket {bucket}"):
            try:
                response = s3.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                    raise
                response = None
    except GgctlError as exc:
        if "access denied" in str(exc):
            raise GgctlError(f"bucket {bucket} belongs to another account or you may not read it; "
                             "pass another --bucket or grant s3:ListBucket") from None
        raise
    if response is not None:
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        actual = headers.get("x-amz-bucket-region", region)
        if actual != region:
            raise GgctlError(f"bucket {bucket} is in {actual}, components are registered in {region}; "
                             "Greengrass needs both in one region: pass --bucket or --region")
        return
    if dry_run:
        report(f"would create bucket s3://{bucket} in {region}")
        return
    arguments: dict = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with aws_errors(f"creating bucket {bucket}"):
        s3.create_bucket(**arguments)
    report(f"created bucket s3://{bucket} in {region}")


def upload(s3: Any, bucket: str, key: str, path: Path, sha256: str, dry_run: bool,
           report: Callable[[str], None]) -> bool:
    """Uploads ``path`` unless s3://bucket/key holds the same bytes; returns whether it (would have) uploaded."""
    from botocore.exceptions import ClientError

    uri = f"s3://{bucket}/{key}"
    with aws_errors(f"checking {uri}"):
        try:
            current = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get(SHA256_METADATA)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            current = None
    if current == sha256:
        report(f"unchanged {uri} (sha256 {sha256})")
        return False
    size = path.stat().st_size
    if dry_run:
        report(f"would upload {path} -> {uri} ({size} bytes, sha256 {sha256})")
        return True
    with aws_errors(f"uploading {path} to {uri}"):
        s3.upload_file(str(path), bucket, key,
                       ExtraArgs={"Metadata": {SHA256_METADATA: sha256}, "ChecksumAlgorithm": "SHA256"})
    report(f"uploaded {path} -> {uri} ({size} bytes, sha256 {sha256})")
    return True
