"""boto3 clients with ggctl's options: region, profile, and separate S3 / Greengrass endpoints (tests, LocalStack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ggctl.errors import GgctlError, aws_errors
from ggctl.project import GDK_PROJECTS


@dataclass
class Aws:
    region: Optional[str] = None
    profile: Optional[str] = None
    s3_endpoint_url: Optional[str] = None
    greengrass_endpoint_url: Optional[str] = None
    fallback_region: str = ""  # from gdk-config.json, used when neither --region nor the AWS config has one
    _clients: dict = field(default_factory=dict, repr=False)
    _account: Optional[str] = field(default=None, repr=False)

    def _session(self) -> Any:
        if "session" not in self._clients:
            import boto3

            with aws_errors("loading AWS configuration"):
                session = boto3.Session(profile_name=self.profile, region_name=self.region)
            self._clients["session"] = session
        return self._clients["session"]

    @property
    def region_name(self) -> str:
        region = self.region or self._session().region_name or self.fallback_region
        if not region:
            raise GgctlError(f"no AWS region; pass --region, set AWS_REGION, or set publish.region in {GDK_PROJECTS}")
        return region

    def client(self, service: str, endpoint_url: Optional[str] = None) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "max_attempts": 8},
                            s3={"addressing_style": "path"} if endpoint_url else None)
            with aws_errors(f"creating the {service} client"):
                self._clients[service] = self._session().client(
                    service, region_name=self.region_name, endpoint_url=endpoint_url, config=config
                )
        return self._clients[service]

    def s3(self) -> Any:
        return self.client("s3", self.s3_endpoint_url)

    def greengrass(self) -> Any:
        return self.client("greengrassv2", self.greengrass_endpoint_url)

    @property
    def account(self) -> str:
        if self._account is None:
            with aws_errors("looking up the AWS account (sts get-caller-identity)"):
                self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account

    @property
    def partition(self) -> str:
        return self._session().get_partition_for_region(self.region_name)
