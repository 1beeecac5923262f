"""What each ggctl subcommand does, over the build, render, s3 and greengrass modules."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from ggctl import build, configuration, greengrass, render, s3
from ggctl.aws import Aws
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, Component, select, with_version

#: Where publish records what it registered, and deploy records the deployment, for the next command.
STATE = "state.json"


@dataclass
class Context:
    root: Path
    components: dict[str, Component]
    aws: Aws
    out: Path
    dry_run: bool = False
    report: Callable[[str], None] = print
    state: dict = field(default_factory=dict)

    def load_state(self) -> dict:
        path = self.out / STATE
        self.state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return self.state

    def save_state(self) -> None:
        if not self.dry_run:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / STATE).write_text(json.dumps(self.state, indent=2) + "\n", encoding="utf-8")


def run_build(ctx: Context, keys: Sequence[str], build_args: Mapping[str, str], network: Optional[str],
              bucket: str, gdk: bool) -> list[str]:
    """Builds the components; returns the one-line errors of those that failed (the others are built)."""
    selected = select(ctx.components, keys)
    if ctx.dry_run:
        for component in selected:
            ctx.report(f"would build {component.name} {component.version}: "
                       f"{ctx.out / 'artifacts' / component.name / component.version / component.spec.artifact}")
        return []
    _, errors = build.build_all(ctx.root, ctx.components, selected, ctx.out, build_args, network,
                                bucket, gdk, ctx.report)
    return errors


def resolve_bucket(ctx: Context, bucket: Optional[str]) -> str:
    prefix = ctx.components[COUNTER.key].bucket_prefix
    if bucket:
        return bucket
    if not prefix:
        raise GgctlError("no bucket: pass --bucket or set publish.bucket in gdk-config.json")
    return s3.default_bucket(prefix, ctx.aws.region_name, ctx.aws.account)


def run_publish(ctx: Context, keys: Sequence[str], bucket: Optional[str], bump: bool) -> None:
    """Uploads changed artifacts and registers each component version (grabber first: the counter names it)."""
    selected = select(ctx.components, keys)
    artifacts = {a.key: a for a in build.built_artifacts(ctx.out, selected)}
    bucket = resolve_bucket(ctx, bucket)
    aws, gg = ctx.aws, ctx.aws.greengrass()
    region = aws.region_name
    s3.ensure_bucket(aws.s3(), bucket, region, ctx.dry_run, ctx.report)
    # Versions as registered so far: the counter's dependency names the grabber's.
    published = deployed_components(ctx, {})
    state = ctx.state
    for component in selected:
        artifact = artifacts[component.key]

        def recipe_of(candidate: Component, artifact: build.Artifact = artifact) -> dict:
            return render.render(ctx.root, candidate, {**published, candidate.key: candidate}, bucket,
                                 {artifact.file: artifact.sha256})

        def arn_of(version: str, name: str = component.name) -> str:
            return greengrass.component_arn(aws.partition, region, aws.account, name, version)

        chosen, recipe, registered = greengrass.free_version(gg, component, arn_of, recipe_of, bump)
        published[component.key] = chosen
        key = render.artifact_key(chosen, artifact.file)
        s3.upload(aws.s3(), bucket, key, Path(artifact.path), artifact.sha256, ctx.dry_run, ctx.report)
        recipe_path = ctx.out / "published" / f"{chosen.name}-{chosen.version}.yaml"
        if not ctx.dry_run:
            recipe_path.parent.mkdir(parents=True, exist_ok=True)
            recipe_path.write_text(render.dump(recipe), encoding="utf-8")
        if registered:
            ctx.report(f"unchanged {chosen.name} {chosen.version}: already registered with this recipe")
        elif ctx.dry_run:
            ctx.report(f"would register {chosen.name} {chosen.version} with this recipe:")
            ctx.report("  " + render.dump(recipe).rstrip().replace("\n", "\n  "))
        else:
            arn = greengrass.create_version(gg, recipe)
            ctx.report(f"registered {arn} (recipe {recipe_path})")
        state.setdefault("published", {})[component.key] = {"name": chosen.name, "version": chosen.version}
    ctx.save_state()


def deployed_components(ctx: Context, versions: Mapping[str, str]) -> dict[str, Component]:
    """Both components at the version given, else the one last published, else gdk-config.json's."""
    unknown = sorted(set(versions) - set(ctx.components))
    if unknown:
        raise GgctlError(f"--version: unknown component {', '.join(unknown)}; choose from {', '.join(ctx.components)}")
    published = ctx.load_state().get("published", {})
    chosen = {}
    for key, component in ctx.components.items():
        record = published.get(key, {})
        version = versions.get(key) or (record.get("version") if record.get("name") == component.name else None)
        chosen[key] = with_version(component, version or component.version)
    return chosen


def run_deploy(ctx: Context, target: str, config_file: Optional[Path], versions: Mapping[str, str],
               deployment_name: Optional[str]) -> None:
    components = deployed_components(ctx, versions)
    merges_in = configuration.read_merges(config_file, ctx.components) if config_file else {}
    merges = {key: configuration.checked_merge(ctx.root, components[key], merges_in.get(key, {}))
              for key in components}
    merges = {key: merge for key, merge in merges.items() if merge}
    aws = ctx.aws
    arn = greengrass.target_arn(aws.partition, aws.region_name, aws.account, target)
    name = deployment_name or f"people-counter-{target.replace('/', '-')}"
    request = greengrass.deployment_request(arn, name, components, merges)
    if ctx.dry_run:
        shown = {key: configuration.masked(merge) for key, merge in merges.items()}
        printed = greengrass.deployment_request(arn, name, components, shown)
        ctx.report("would create this deployment (camera passwords hidden):")
        ctx.report(json.dumps(printed, indent=2))
        return
    deployment_id = greengrass.create_deployment(aws.greengrass(), request)
    state = ctx.load_state()
    state["deployment"] = {"id": deployment_id, "target": target, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                        time.gmtime())}
    ctx.save_state()
    ctx.report(deployment_id)


def run_status(ctx: Context, deployment_id: Optional[str], target: Optional[str]) -> None:
    gg = ctx.aws.greengrass()
    last = ctx.load_state().get("deployment", {})
    if not deployment_id and not target:
        deployment_id, target = last.get("id"), last.get("target")
        if not deployment_id:
            raise GgctlError("no deployment yet: pass --deployment-id or --target thing/NAME")
    if deployment_id:
        for line in greengrass.deployment_status(gg, deployment_id):
            ctx.report(line)
    if target:
        kind, _, name = target.partition("/")
        if kind == "thing":
            for line in greengrass.device_status(gg, name):
                ctx.report(line)
        elif not deployment_id:
            raise GgctlError("status of a thing group needs --deployment-id (or --target thing/NAME of a member)")
