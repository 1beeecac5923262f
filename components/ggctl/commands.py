"""What each ggctl subcommand does, over the build, render, s3 and greengrass modules."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from ggctl import build, configuration, deployments, greengrass, render, s3
from ggctl.aws import Aws
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GDK_PROJECTS, Component, select, with_version

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
    #: What the command did, as --output json prints it.
    result: dict = field(default_factory=dict)

    def load_state(self) -> dict:
        path = self.out / STATE
        self.state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return self.state

    def save_state(self) -> None:
        if not self.dry_run:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / STATE).write_text(json.dumps(self.state, indent=2) + "\n", encoding="utf-8")

    def warn(self, message: str) -> None:
        print(f"ggctl: {message}", file=sys.stderr)
        self.result.setdefault("warnings", []).append(message)


def emit(output: str, result: dict, text: str) -> None:
    """Prints ``text``, or ``result`` as JSON with --output json (for commands without a Context)."""
    print(json.dumps(result, indent=2, sort_keys=True) if output == "json" else text)


def run_build(ctx: Context, keys: Sequence[str], options: build.BuildOptions, bucket: str, gdk: bool) -> list[str]:
    """Builds the components; returns the one-line errors of those that failed (the others are built)."""
    selected = select(ctx.components, keys)
    if any(c.key == COUNTER.key for c in selected):
        options.models.files()  # a missing model file fails before anything is built
    if ctx.dry_run:
        for component in selected:
            ctx.report(f"would build {component.name} {component.version}: "
                       f"{ctx.out / 'artifacts' / component.name / component.version}")
        ctx.result["wouldBuild"] = [{"name": c.name, "version": c.version} for c in selected]
        return []
    built, errors = build.build_all(ctx.root, ctx.components, selected, ctx.out, options, bucket, gdk, ctx.report)
    ctx.result.update(built=[asdict(artifact) for artifact in built], errors=errors)
    return errors


def resolve_bucket(ctx: Context, bucket: Optional[str]) -> str:
    prefix = ctx.components[COUNTER.key].bucket_prefix
    if bucket:
        return bucket
    if not prefix:
        raise GgctlError(f"no bucket: pass --bucket or set publish.bucket in {GDK_PROJECTS}")
    return s3.default_bucket(prefix, ctx.aws.region_name, ctx.aws.account)


def run_publish(ctx: Context, keys: Sequence[str], bucket: Optional[str], bump: bool) -> None:
    """Uploads changed artifacts and registers each component version (grabber first: the counter names it)."""
    selected = select(ctx.components, keys)
    builds = build.built_artifacts(ctx.out, selected)
    bucket = resolve_bucket(ctx, bucket)
    aws, gg = ctx.aws, ctx.aws.greengrass()
    region = aws.region_name
    s3.ensure_bucket(aws.s3(), bucket, region, ctx.dry_run, ctx.report)
    # Versions as registered so far: the counter's dependency names the grabber's.
    published = deployed_components(ctx, {})
    state = ctx.state
    results = ctx.result.setdefault("components", [])
    for component in selected:
        info = builds[component.key]

        def recipe_of(candidate: Component, info: build.Built = info) -> dict:
            return build.render_built(ctx.root, candidate, {**published, candidate.key: candidate}, bucket, info)

        def arn_of(version: str, name: str = component.name) -> str:
            return greengrass.component_arn(aws.partition, region, aws.account, name, version)

        chosen, recipe, registered = greengrass.free_version(gg, component, arn_of, recipe_of, bump)
        published[component.key] = chosen
        for artifact in info.artifacts:
            s3.upload(aws.s3(), bucket, render.artifact_key(chosen, artifact.file), Path(artifact.path),
                      artifact.sha256, ctx.dry_run, ctx.report)
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
        results.append({"name": chosen.name, "version": chosen.version, "alreadyRegistered": registered,
                        "arn": arn_of(chosen.version)})
        state.setdefault("published", {})[component.key] = {"name": chosen.name, "version": chosen.version}
    ctx.save_state()


def deployed_components(ctx: Context, versions: Mapping[str, str]) -> dict[str, Component]:
    """Both components at the version given, else the one last published, else gdk-config.json's."""
    unknown = sorted(set(versions) - set(ctx.components) - {render.SECRET_MANAGER})
    if unknown:
        raise GgctlError(f"--version: unknown component {', '.join(unknown)}; choose from "
                         f"{', '.join([*ctx.components, render.SECRET_MANAGER])}")
    published = ctx.load_state().get("published", {})
    chosen = {}
    for key, component in ctx.components.items():
        record = published.get(key, {})
        version = versions.get(key) or (record.get("version") if record.get("name") == component.name else None)
        chosen[key] = with_version(component, version or component.version)
    return chosen


def _secret_manager_update(ctx: Context, current: Optional[dict], arns: list[str],
                           versions: Mapping[str, str]) -> deployments.Update:
    """The Secret manager in the revision: its current (or given, else newest) version, our ARNs added to the
    secrets it syncs to the core (its ``cloudSecrets`` configuration; Secret manager component page)."""
    spec = (current or {}).get("components", {}).get(render.SECRET_MANAGER, {})
    version = versions.get(render.SECRET_MANAGER) or spec.get("componentVersion") or greengrass.latest_public_version(
        ctx.aws.greengrass(), ctx.aws.partition, ctx.aws.region_name, render.SECRET_MANAGER)

    def derive(merged: dict) -> dict:
        known = [entry for entry in merged.get("cloudSecrets", []) if isinstance(entry, dict)]
        have = {entry.get("arn") for entry in known}
        return {"cloudSecrets": known + [{"arn": arn} for arn in sorted(set(arns) - have)]}

    return deployments.Update(version, derive=derive)


def _mask(_component: str, merge: dict) -> dict:
    return configuration.masked(merge)


def run_deploy(ctx: Context, target: str, config_file: Optional[Path], versions: Mapping[str, str],
               deployment_name: Optional[str], replace: bool = False) -> None:
    """Revises the target's latest deployment with both components (see ggctl/deployments.py) and prints the
    change; ``replace`` deploys ours alone instead, which removes every other component from the devices."""
    components = deployed_components(ctx, versions)
    merges_in = configuration.read_merges(config_file, ctx.components) if config_file else {}
    merges = {key: configuration.checked_merge(ctx.root, components[key], merges_in.get(key, {}))
              for key in components}
    for merge in merges.values():
        warning = configuration.stored_secret_warning(merge)
        if warning:
            ctx.warn(warning)
    aws = ctx.aws
    arn = greengrass.target_arn(aws.partition, aws.region_name, aws.account, target)
    gg = aws.greengrass()
    current = greengrass.current_deployment(gg, arn)
    base = None if replace else current
    kind, _, name = target.partition("/")
    thing = name if kind == "thing" else None
    updates = {
        component.name: deployments.Update(component.version, merges[key], [deployments.RESET_ACCESS_CONTROL],
                                           configuration.derived_keys(ctx.root, component, thing))
        for key, component in components.items()
    }
    request = deployments.revise(base, arn, deployment_name, f"people-counter-{target.replace('/', '-')}", updates)
    arns = sorted({a for key, component in components.items()
                   for a in render.secret_arns(key, deployments.previous_merge(request["components"][component.name]))})
    if arns:
        manifest = build.read_manifest(ctx.out)
        unprepared = sorted(c.name for key, c in components.items() if key in manifest and
                            not manifest[key].get("secrets"))
        if unprepared:
            ctx.warn(f"{', '.join(unprepared)} was built without --secrets: its recipe declares no "
                     f"{render.SECRET_MANAGER} dependency; rebuild with 'ggctl build --secrets' and publish")
        updates[render.SECRET_MANAGER] = _secret_manager_update(ctx, base, arns, versions)
        request = deployments.revise(base, arn, deployment_name, request["deploymentName"], updates)
    before = deployments.readable(deployments.as_request(current), _mask) if current else None
    after = deployments.readable(request, _mask)
    diff = deployments.difference(before, after)
    ctx.result.update(target=arn, revises=(base or {}).get("deploymentId"), diff=diff, request=after,
                      dryRun=ctx.dry_run)
    if current is None:
        ctx.report(f"no deployment of {arn} yet; creating one:")
    elif replace:
        ctx.report(f"replacing deployment {current['deploymentId']} of {arn} (--replace): its devices remove "
                   "every component not listed here:")
    else:
        if current.get("deploymentStatus") == "CANCELED":
            ctx.warn(f"the latest deployment of {arn} ({current['deploymentId']}) was canceled; the revision keeps "
                     "its components, which the devices that received it run (--replace deploys ours alone)")
        ctx.report(f"revising deployment {current['deploymentId']} of {arn} (revision {current.get('revisionId')}):")
    for line in diff or ["(no change)"]:
        ctx.report(line)
    if ctx.dry_run:
        ctx.report("dry run: nothing deployed")
        return
    deployment_id = greengrass.create_deployment(gg, request)
    ctx.result["deploymentId"] = deployment_id
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
        summary = greengrass.deployment_status(gg, deployment_id)
        ctx.result["deployment"] = summary
        for line in greengrass.deployment_lines(summary):
            ctx.report(line)
    if target:
        arn = greengrass.target_arn(ctx.aws.partition, ctx.aws.region_name, ctx.aws.account, target)
        kind, _, name = target.partition("/")
        if kind == "thing":
            device = greengrass.device_status(gg, name)
            ctx.result["device"] = device
            for line in greengrass.device_lines(device):
                ctx.report(line)
        elif not deployment_id:
            current = greengrass.current_deployment(gg, arn)
            if current is None:
                raise GgctlError(f"{target} has no deployment; run 'ggctl deploy --target {target}'")
            summary = greengrass.deployment_summary(current)
            ctx.result["deployment"] = summary
            for line in greengrass.deployment_lines(summary):
                ctx.report(line)
