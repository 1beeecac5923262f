"""``ggctl``: build, publish (upload + register) and deploy the grabber and counter Greengrass components."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ggctl import commands
from ggctl.aws import Aws
from ggctl.build import BUILD_DIR
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, SPECS, find_root, load_components, parse_assignments

COMPONENT_KEYS = ", ".join(SPECS)
DESCRIPTION = f"""\
Build, upload, register and deploy this project's AWS IoT Greengrass v2 components ({COMPONENT_KEYS}).

  ggctl build                      artifacts and rendered recipes into build/ggctl/
  ggctl publish                    bucket, uploads (unchanged ones skipped), component versions
  ggctl deploy --target thing/NAME --config deploy.yaml
  ggctl status                     the last deployment and the device's component versions

Names, versions, publisher, bucket prefix and region come from gdk-config.json (top level for
{COUNTER.key}, docker/grabber/ for the grabber), shared with `gdk component build/publish`.
AWS credentials come from the usual places (environment, ~/.aws, --profile).
"""


def _components_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("components", nargs="*", metavar="COMPONENT",
                        help=f"components to act on: {COMPONENT_KEYS} (default: all)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ggctl", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", help="AWS region (default: AWS config, then gdk-config.json publish.region)")
    parser.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE or default credentials)")
    parser.add_argument("--s3-endpoint-url", metavar="URL", help="S3 endpoint, e.g. a local S3 server")
    parser.add_argument("--greengrass-endpoint-url", metavar="URL", help="Greengrass v2 API endpoint")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be built, uploaded, registered or deployed, and change nothing "
                             "(read-only AWS calls still run to tell what is unchanged)")
    parser.add_argument("--name", action="append", default=[], metavar="COMPONENT=NAME",
                        help="override a component name, e.g. count_people=com.acme.PeopleCounter (repeatable)")
    parser.add_argument("--root", type=Path, help="repository root (default: found above the working directory)")
    parser.add_argument("--out", type=Path, help=f"build output folder (default: ROOT/{BUILD_DIR})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="build artifacts and render recipes",
                           description="Build the counter ZIP and the grabber image tarball (docker build + docker "
                                       "save | gzip) and render their recipes with name, version, bucket and digests "
                                       "into build/ggctl/. Without a Docker engine only the grabber fails.")
    _components_argument(build)
    build.add_argument("--bucket", default="", help="bucket written into the rendered recipes "
                                                   "(default: BUCKET_NAME, replaced when publishing)")
    build.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="docker build argument for the grabber image, e.g. BASE_IMAGE=debian:bookworm-slim")
    build.add_argument("--network", help="docker build network mode, e.g. host")
    build.add_argument("--gdk", action="store_true",
                       help="also lay out greengrass-build/ in the component folder (GDK custom build command)")

    publish = sub.add_parser("publish", help="upload artifacts and register component versions",
                             description="Create the bucket if needed (in --region), upload the built artifacts "
                                         "(skipping objects whose SHA-256 matches) and register each component "
                                         "version. A version already registered with the same recipe is left "
                                         "alone; with another recipe it is an error unless --bump.")
    _components_argument(publish)
    publish.add_argument("--bucket", help="artifact bucket (default: gdk-config.json publish.bucket-REGION-ACCOUNT, "
                                          "as GDK names it)")
    publish.add_argument("--bump", action="store_true",
                         help="register the next free patch version when this one exists with another recipe")

    deploy = sub.add_parser("deploy", help="deploy both components to a device or group",
                            description="Create a deployment of both components (at the versions last published, "
                                        "else gdk-config.json's) with per-component configuration merges, and "
                                        "print its id. A new deployment to a thing group replaces the previous one.")
    deploy.add_argument("--target", required=True, metavar="thing/NAME|thinggroup/NAME", help="deployment target")
    deploy.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML file mapping each component to configuration keys to merge "
                             "(e.g. gst-grabber: {rtsp_url: ...}, count_people: {camera_id: door})")
    deploy.add_argument("--version", action="append", default=[], metavar="COMPONENT=VERSION",
                        help="deploy this version of a component (repeatable)")
    deploy.add_argument("--deployment-name", help="deployment name (default: people-counter-<target>)")

    status = sub.add_parser("status", help="show a deployment and a device's component versions",
                            description="Show a deployment's state and versions and, for a thing, its effective "
                                        "deployments and installed component versions (default: the last deploy).")
    status.add_argument("--deployment-id", help="deployment to show")
    status.add_argument("--target", metavar="thing/NAME", help="core device whose components to show")
    return parser


def run(args: argparse.Namespace, aws: Optional[Aws] = None) -> int:
    root = (args.root or find_root()).resolve()
    components = load_components(root, parse_assignments(args.name, "--name"))
    aws = aws or Aws(args.region, args.profile, args.s3_endpoint_url, args.greengrass_endpoint_url)
    aws.fallback_region = aws.fallback_region or components[COUNTER.key].region
    ctx = commands.Context(root, components, aws, (args.out or root / BUILD_DIR).resolve(), args.dry_run)
    if args.command == "build":
        errors = commands.run_build(ctx, args.components, parse_assignments(args.build_arg, "--build-arg"),
                                    args.network, args.bucket, args.gdk)
        for error in errors:
            print(f"ggctl: error: {error}", file=sys.stderr)
        return 1 if errors else 0
    if args.command == "publish":
        commands.run_publish(ctx, args.components, args.bucket, args.bump)
    elif args.command == "deploy":
        commands.run_deploy(ctx, args.target, args.config, parse_assignments(args.version, "--version"),
                            args.deployment_name)
    else:
        commands.run_status(ctx, args.deployment_id, args.target)
    return 0


def main(argv: Optional[Sequence[str]] = None, aws: Optional[Aws] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, aws)
    except GgctlError as exc:
        print(f"ggctl: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
