"""Secrets served by GetSecretValue, from a local JSON file ``{arn: {"SecretString": "..."}}``.

A stand-in for what the aws.greengrass.SecretManager component caches from AWS Secrets Manager. As there
(aws-greengrass-secret-manager @ adbbd4d, SecretManager.java: validateSecretId and
doesSecretNameMatchWithConfiguredArn), a secret is asked for by ARN or by name, the name matching an ARN
``...:secret:NAME-XXXXXX``; authorisation is then checked on the ARN.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from gg_ipc_local.recipe import RecipeError


@dataclass(frozen=True)
class Secret:
    arn: str
    secret_string: str
    version_id: str


class SecretStore:
    def __init__(self, secrets: dict[str, Secret] | None = None) -> None:
        self.secrets = secrets or {}

    @classmethod
    def load(cls, path: str | Path) -> SecretStore:
        """Read the file; RecipeError (a one-line reason) if it is not the expected JSON."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise RecipeError(f"cannot read secrets file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise RecipeError(f"secrets file {path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RecipeError(f"secrets file {path} must map secret ARNs to {{\"SecretString\": ...}}")
        secrets = {}
        for arn, value in data.items():
            if not isinstance(value, dict) or not isinstance(value.get("SecretString"), str):
                raise RecipeError(f"secrets file {path}: {arn} needs a string SecretString")
            secrets[arn] = Secret(arn, value["SecretString"], str(value.get("VersionId", "local-1")))
        return cls(secrets)

    def arn(self, secret_id: str) -> str | None:
        """The ARN ``secret_id`` names (itself if an ARN); None if no stored secret matches."""
        if secret_id in self.secrets:
            return secret_id
        name = re.compile(r".*:secret:" + re.escape(secret_id) + r"-[A-Za-z0-9]{6}$")
        return next((arn for arn in self.secrets if name.fullmatch(arn)), None)
