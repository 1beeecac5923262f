"""Secrets (service ``aws.greengrass.SecretManager``): GetSecretValue.

The Java Secret Manager component authorises ``aws.greengrass#GetSecretValue`` on the secret's ARN against
the calling component's accessControl under ``aws.greengrass.SecretManager`` (aws-greengrass-secret-manager
@ adbbd4d, SecretManagerIPCAgent.java:104-113), answers UnauthorizedError when refused and
ResourceNotFoundError for an unknown secret (:135-148). The response carries the ARN, the version and the
secret string (SecretManager.java:433-445). Nucleus lite does not implement GetSecretValue.
"""

from __future__ import annotations

from gg_ipc_local.recipe import SECRET_MANAGER
from gg_ipc_local.rpc import Call, Handler, IpcError, Response

CURRENT = "AWSCURRENT"


async def get_secret_value(call: Call, request: dict) -> Response:
    secret_id = request.get("secretId")
    if not isinstance(secret_id, str) or not secret_id:
        raise IpcError("InvalidArgumentsError", "SecretId absent in the request")
    arn = call.server.secrets.arn(secret_id) or secret_id
    call.server.authorize(SECRET_MANAGER, "GetSecretValue", arn)
    secret = call.server.secrets.secrets.get(arn)
    stage = request.get("versionStage") or CURRENT
    if secret is None or stage != CURRENT or request.get("versionId") not in (None, "", secret.version_id):
        raise IpcError("ResourceNotFoundError", f"secret {secret_id} (stage {stage}) is not configured")
    return Response("GetSecretValueResponse", {
        "secretId": secret.arn, "versionId": secret.version_id, "versionStage": [CURRENT],
        "secretValue": {"secretString": secret.secret_string}})


OPERATIONS: dict[str, Handler] = {"GetSecretValue": get_secret_value}
