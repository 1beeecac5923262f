"""One-line errors: every failure ggctl expects, AWS ones included, becomes a :class:`GgctlError` with the fix."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator


class GgctlError(Exception):
    """A failure the user can fix; the message says what happened and what to do, on one line."""


_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown", "RequestLimitExceeded"}
_BAD_TOKEN = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
              "UnrecognizedClientException", "InvalidAccessKeyId"}


def describe_client_error(code: str, message: str, action: str) -> str:
    """The one-line message for an AWS error code, with the usual fix."""
    if code in _ACCESS_DENIED:
        return (f"{action}: access denied ({message}); grant the permission to your IAM identity "
                f"(docs/content/how-to/deploy.md, 'Permissions') or use another --profile")
    if code in _THROTTLED:
        return f"{action}: throttled by AWS after retries ({message}); wait a minute and run the command again"
    if code in _BAD_TOKEN:
        return (f"{action}: AWS rejected the credentials ({code}); "
                "refresh them (aws sso login / new keys) or pick --profile")
    if code == "NoSuchBucket":
        return f"{action}: the bucket does not exist; run 'ggctl publish' (it creates the bucket) or check --bucket"
    if code == "ConflictException":
        return f"{action}: conflict ({message}); use --bump to register the next patch version"
    if code == "ResourceNotFoundException":
        return f"{action}: not found ({message}); check the name, the version and --region"
    return f"{action}: {code}: {message}"


@contextlib.contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turns botocore exceptions raised inside into GgctlError; ``action`` says what was being done."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise GgctlError(
            f"{action}: no AWS credentials found; run 'aws configure' or 'aws sso login', "
            "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile"
        ) from None
    except NoRegionError:
        raise GgctlError(f"{action}: no AWS region; pass --region or set AWS_REGION") from None
    except ProfileNotFound as exc:
        raise GgctlError(f"{action}: {exc}; check --profile against ~/.aws/config") from None
    except EndpointConnectionError as exc:
        raise GgctlError(f"{action}: cannot reach {exc.kwargs.get('endpoint_url')}; check the network, "
                         "--region and the --*-endpoint-url options") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        raise GgctlError(describe_client_error(code, error.get("Message") or str(exc), action)) from None
    except S3UploadFailedError as exc:  # the transfer manager wraps the ClientError in text
        match = re.search(r"An error occurred \((\w+)\)[^:]*: (.*)", str(exc))
        code, message = match.groups() if match else ("S3UploadFailed", str(exc))
        raise GgctlError(describe_client_error(code, message, action)) from None
