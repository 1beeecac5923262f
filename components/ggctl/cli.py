"""``ggctl``: build, publish (upload + register) and deploy the grabber and counter Greengrass components."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from ggctl import build, commands, models
from ggctl.aws import Aws
from ggctl.build import BUILD_DIR
from ggctl.configuration import validate_file
from ggctl.errors import GgctlError
from ggctl.generate import stale, write
from ggctl.project import COUNTER, GDK_PROJECTS, SPECS, find_root, load_components, parse_assignments

COMPONENT_KEYS = ", ".join(SPECS)
DESCRIPTION = f"""\
Build, upload, register and deploy this project's AWS IoT Greengrass v2 components ({COMPONENT_KEYS}).

  ggctl build                      artifacts and rendered recipes into build/ggctl/
  ggctl publish                    bucket, uploads (unchanged ones skipped), component versions
  ggctl deploy --target thinggroup/NAME --config deploy.yaml
                                   revise the target's deployment (--dry-run: print the difference only)
  ggctl status                     the last deployment and the device's component versions
  ggctl fetch-model NAME           GluonCV pretrained weights as a .params file for 'build --params'

Global options go before or after the command; --output json prints one JSON document on stdout.

Names, versions, publisher, bucket prefix and region come from each component's GDK project (the files
`gdk component build/publish` read there): {GDK_PROJECTS}.
AWS credentials come from the usual places (environment, ~/.aws, --profile).
"""


def _components_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("components", nargs="*", metavar="COMPONENT",
                        help=f"components to act on: {COMPONENT_KEYS} (default: all)")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options every subcommand takes, before or after its name (``ggctl status --region x`` works).

    The subcommand copies default to SUPPRESS so that they only override what was given before it.
    """
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--region", default=default(None),
                        help="AWS region (default: AWS config, then gdk-config.json publish.region)")
    parser.add_argument("--profile", default=default(None),
                        help="AWS named profile (default: AWS_PROFILE or default credentials)")
    parser.add_argument("--s3-endpoint-url", metavar="URL", default=default(None),
                        help="S3 endpoint, e.g. a local S3 server")
    parser.add_argument("--greengrass-endpoint-url", metavar="URL", default=default(None),
                        help="Greengrass v2 API endpoint")
    parser.add_argument("--dry-run", action="store_true", default=default(False),
                        help="print what would be built, uploaded, registered or deployed, and change nothing "
                             "(read-only AWS calls still run to tell what is unchanged)")
    parser.add_argument("--name", action="append", default=default([]), metavar="COMPONENT=NAME",
                        help="override a component name, e.g. count_people=com.acme.PeopleCounter (repeatable)")
    parser.add_argument("--root", type=Path, default=default(None),
                        help="repository root (default: found above the working directory)")
    parser.add_argument("--out", type=Path, default=default(None),
                        help=f"build output folder (default: ROOT/{BUILD_DIR})")
    parser.add_argument("--output", choices=("text", "json"), default=default("text"),
                        help="text (default) or one JSON document on stdout (progress goes to stderr)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ggctl", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", parents=[common], help="build artifacts and render recipes",
                           description="Build the counter ZIP (a wheel of the package, install.sh, pinned "
                                       "requirements, packaged model files) and the grabber image tarball (docker "
                                       "build + docker save | gzip, one per --platform) and render their recipes "
                                       "with name, version, bucket, digests, image IDs and architectures into "
                                       "build/ggctl/. Without a Docker engine only the grabber fails.")
    _components_argument(build)
    build.add_argument("--bucket", default="", help="bucket written into the rendered recipes "
                                                   "(default: BUCKET_NAME, replaced when publishing)")
    build.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="docker build argument for the grabber image, e.g. BASE_IMAGE=debian:bookworm-slim")
    build.add_argument("--network", help="docker build network mode, e.g. host")
    build.add_argument("--no-host-ca", action="store_true",
                       help="do not pass this host's added CA certificates (/usr/local/share/ca-certificates, "
                            "/etc/pki/ca-trust/source/anchors) into the grabber image build as EXTRA_CA_CERTS")
    build.add_argument("--platform", action="append", default=[], metavar="OS/ARCH",
                       help="grabber image platform, e.g. linux/arm64 (repeatable: one tarball and one recipe "
                            "manifest each; a foreign one needs docker buildx with qemu; default: the engine's)")
    build.add_argument("--secrets", action="store_true",
                       help="declare the aws.greengrass.SecretManager dependency and the *_secret_arn "
                            "configuration keys (needed before deploying secret ARNs)")
    build.add_argument("--model", type=Path, metavar="FILE",
                       help="package this model file with the counter (ONNX, Darknet .cfg); the recipe points "
                            "the counter at its {artifacts:decompressedPath} copy")
    build.add_argument("--params", type=Path, metavar="FILE",
                       help="package these weights with the counter (GluonCV .params, Darknet .weights)")
    build.add_argument("--labels", type=Path, metavar="FILE", help="package these class names (Darknet .names)")
    build.add_argument("--gdk", action="store_true",
                       help="also lay out greengrass-build/ in the component folder (GDK custom build command)")

    publish = sub.add_parser("publish", parents=[common], help="upload artifacts and register component versions",
                             description="Create the bucket if needed (in --region), upload the built artifacts "
                                         "(skipping objects whose SHA-256 matches) and register each component "
                                         "version. A version already registered with the same recipe is left "
                                         "alone; with another recipe it is an error unless --bump.")
    _components_argument(publish)
    publish.add_argument("--bucket", help="artifact bucket (default: gdk-config.json publish.bucket-REGION-ACCOUNT, "
                                          "as GDK names it)")
    publish.add_argument("--bump", action="store_true",
                         help="register the next free patch version when this one exists with another recipe")

    deploy = sub.add_parser("deploy", parents=[common], help="revise a device's or group's deployment",
                            description="Revise the target's latest deployment (whatever its status; --replace: "
                                        "none): keep every other component and "
                                        "setting, add or update both components (at the versions last published, "
                                        "else gdk-config.json's) with their configuration merges, print the "
                                        "difference, then create the revision and print its id. --dry-run "
                                        "prints the difference only.")
    deploy.add_argument("--target", required=True, metavar="thing/NAME|thinggroup/NAME", help="deployment target")
    deploy.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML file mapping each component to configuration keys to merge "
                             "(e.g. gst-grabber: {rtsp_secret_arn: arn:...}, count_people: {camera_id: door})")
    deploy.add_argument("--version", action="append", default=[], metavar="COMPONENT=VERSION",
                        help="deploy this version of a component (repeatable)")
    deploy.add_argument("--deployment-name",
                        help="deployment name (default: the current deployment's, else people-counter-<target>)")
    deploy.add_argument("--replace", action="store_true",
                        help="deploy these components alone instead of revising the target's latest deployment: "
                             "its devices remove every other component")

    status = sub.add_parser("status", parents=[common], help="show a deployment and a device's component versions",
                            description="Show a deployment's state and versions and, for a thing, its effective "
                                        "deployments and installed component versions, for a thing group its "
                                        "current deployment (default: the last deploy). Reads every page.")
    status.add_argument("--deployment-id", help="deployment to show")
    status.add_argument("--target", metavar="thing/NAME|thinggroup/NAME", help="core device or group to show")

    validate = sub.add_parser(
        "validate-config", help="check a component configuration before deploying it",
        description="Check FILE (JSON or YAML: what the console's 'Configuration to merge' box takes, or a "
                    "deployment's {merge: ...}) as the component would, before a deployment carries it to devices. "
                    "One line per error; exit 2 when invalid. The counter's JSON Schema is "
                    "recipes/count_people/configuration.schema.json.")
    validate.add_argument("file", type=Path, metavar="FILE", help="the configuration to check")
    validate.add_argument("--component", choices=sorted(SPECS), default=COUNTER.key,
                          help=f"whose configuration it is (default: {COUNTER.key})")

    generate = sub.add_parser(
        "generate", parents=[common], help="rewrite the files generated from the configuration declarations",
        description="Rewrite docs/content/reference/configuration.md, the counter's JSON Schema and both recipe "
                    "templates' DefaultConfiguration from the keys declared in count_people/config/settings.py and "
                    "gst_grabber/config.py. Run it after adding or changing a key.")
    generate.add_argument("--check", action="store_true", help="only list stale files; exit 1 if any")

    fetch = sub.add_parser("fetch-model", parents=[common], help="save GluonCV pretrained weights for packaging",
                           description="On a workstation that reaches the GluonCV model zoo: load NAME with its "
                                       "pretrained weights and save them as a .params file for 'ggctl build "
                                       "--params FILE', so that devices need no internet for weights.")
    fetch.add_argument("model_name", metavar="NAME", help="GluonCV model zoo name, e.g. ssd_512_resnet50_v1_voc")
    fetch.add_argument("--to", type=Path, metavar="FILE", help="output file (default: NAME.params)")
    return parser


def run(args: argparse.Namespace, aws: Optional[Aws] = None) -> int:
    if args.command == "validate-config":
        errors = validate_file(args.file, args.component)
        for error in errors:
            print(f"{args.file}: {error}", file=sys.stderr)
        if not errors:
            print(f"{args.file}: valid configuration of {args.component}")
        return 2 if errors else 0
    if args.command == "generate":
        root = (args.root or find_root()).resolve()
        files = stale(root) if args.check else write(root)
        for path in files:
            print(f"{'stale' if args.check else 'wrote'}: {path.relative_to(root)}")
        return 1 if args.check and files else 0
    if args.command == "fetch-model":
        path = models.fetch_gluoncv(args.model_name, args.to or Path(f"{args.model_name}.params"))
        commands.emit(args.output, {"model": args.model_name, "params": str(path)}, f"saved {path}")
        return 0
    root = (args.root or find_root()).resolve()
    components = load_components(root, parse_assignments(args.name, "--name"))
    aws = aws or Aws(args.region, args.profile, args.s3_endpoint_url, args.greengrass_endpoint_url)
    aws.fallback_region = aws.fallback_region or components[COUNTER.key].region
    report = print if args.output == "text" else functools.partial(print, file=sys.stderr)
    ctx = commands.Context(root, components, aws, (args.out or root / BUILD_DIR).resolve(), args.dry_run, report)
    code = 0
    if args.command == "build":
        options = build.BuildOptions(parse_assignments(args.build_arg, "--build-arg"), args.network,
                                     tuple(args.platform), args.secrets,
                                     models.ModelFiles(args.model, args.params, args.labels),
                                     host_ca=not args.no_host_ca)
        errors = commands.run_build(ctx, args.components, options, args.bucket, args.gdk)
        for error in errors:
            print(f"ggctl: error: {error}", file=sys.stderr)
        code = 1 if errors else 0
    elif args.command == "publish":
        commands.run_publish(ctx, args.components, args.bucket, args.bump)
    elif args.command == "deploy":
        commands.run_deploy(ctx, args.target, args.config, parse_assignments(args.version, "--version"),
                            args.deployment_name, args.replace)
    else:
        commands.run_status(ctx, args.deployment_id, args.target)
    if args.output == "json":
        print(json.dumps(ctx.result, indent=2, sort_keys=True, default=str))
    return code


def main(argv: Optional[Sequence[str]] = None, aws: Optional[Aws] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, aws)
    except GgctlError as exc:
        print(f"ggctl: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
