"""`ggctl publish` against a real S3 server (moto_server over HTTP); the Greengrass API through Stubber."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import yaml
from botocore.stub import ANY, Stubber
from ggctl import build, commands, render
from ggctl.aws import Aws
from ggctl.errors import GgctlError
from ggctl.project import COUNTER, GRABBER
from ggctl_support import ACCOUNT, REGION, ROOT, fake_grabber


def artifact_file(component) -> str:
    """The file the `built` fixture holds for a component (the stand-in grabber is amd64)."""
    return build.grabber_file("amd64") if component.key == GRABBER.key else component.spec.artifact


def arn(name: str, version: str) -> str:
    return f"arn:aws:greengrass:{REGION}:{ACCOUNT}:components:{name}:versions:{version}"


def expect_new_version(stubber: Stubber, name: str, version: str) -> None:
    """Stubs: the version does not exist yet, registration, then Greengrass finds the artifacts fine."""
    stubber.add_client_error("get_component", "ResourceNotFoundException", http_status_code=404,
                             expected_params={"arn": arn(name, version), "recipeOutputFormat": "YAML"})
    stubber.add_response("create_component_version", {
        "arn": arn(name, version), "componentName": name, "componentVersion": version,
        "creationTimestamp": "2024-01-01T00:00:00Z", "status": {"componentState": "REQUESTED"},
    }, {"inlineRecipe": ANY})
    stubber.add_response("describe_component", {"arn": arn(name, version), "status": {"componentState": "DEPLOYABLE"}},
                         {"arn": arn(name, version)})


def expect_existing_version(stubber: Stubber, name: str, version: str, recipe: bytes) -> None:
    stubber.add_response("get_component", {"recipeOutputFormat": "YAML", "recipe": recipe},
                         {"arn": arn(name, version), "recipeOutputFormat": "YAML"})


def context(aws: Aws, components: dict, out: Path, lines: list[str], dry_run: bool = False) -> commands.Context:
    return commands.Context(ROOT, components, aws, out, dry_run, lines.append)


def published_recipe(out: Path, component) -> dict:
    return yaml.safe_load((out / "published" / f"{component.name}-{component.version}.yaml").read_text())


def test_publish_uploads_registers_and_skips_unchanged_artifacts(aws: Aws, components: dict, built: Path) -> None:
    bucket = "pc-artifacts-publish"
    grabber, counter = components[GRABBER.key], components[COUNTER.key]
    s3 = aws.s3()
    with Stubber(aws.greengrass()) as stubber:
        expect_new_version(stubber, grabber.name, grabber.version)
        expect_new_version(stubber, counter.name, counter.version)
        first: list[str] = []
        commands.run_publish(context(aws, components, built, first), [], bucket, bump=False)
        stubber.assert_no_pending_responses()
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION
    assert sum(line.startswith("uploaded ") for line in first) == 2, first

    # What was registered points at what was uploaded: keys, and digests of the stored bytes.
    for component in (grabber, counter):
        recipe = published_recipe(built, component)
        (artifact,) = recipe["Manifests"][0]["Artifacts"]
        key = render.artifact_key(component, artifact_file(component))
        assert artifact["URI"] == f"s3://{bucket}/{key}"
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert artifact["Digest"] == base64.b64encode(hashlib.sha256(stored).digest()).decode()
    counter_recipe = published_recipe(built, counter)
    assert grabber.name in counter_recipe["ComponentDependencies"]
    before = {c.name: s3.head_object(Bucket=bucket, Key=render.artifact_key(c, artifact_file(c)))["ETag"]
              for c in (grabber, counter)}

    # Second run: same recipes registered, same bytes stored: nothing is uploaded or registered.
    with Stubber(aws.greengrass()) as stubber:
        for component in (grabber, counter):
            recipe = (built / "published" / f"{component.name}-{component.version}.yaml").read_bytes()
            expect_existing_version(stubber, component.name, component.version, recipe)
        second: list[str] = []
        commands.run_publish(context(aws, components, built, second), [], bucket, bump=False)
        stubber.assert_no_pending_responses()
    assert not [line for line in second if line.startswith(("uploaded", "registered", "created"))], second
    assert sum(line.startswith("unchanged s3://") for line in second) == 2, second
    after = {c.name: s3.head_object(Bucket=bucket, Key=render.artifact_key(c, artifact_file(c)))["ETag"]
             for c in (grabber, counter)}
    assert after == before


def test_changed_recipe_needs_bump_then_registers_next_patch(aws: Aws, components: dict, built: Path) -> None:
    bucket = "pc-artifacts-bump"
    grabber = components[GRABBER.key]
    other = b"RecipeFormatVersion: '2020-01-25'\nComponentName: x\nComponentVersion: 1.0.0\n"
    with Stubber(aws.greengrass()) as stubber:
        expect_existing_version(stubber, grabber.name, "1.0.0", other)
        with pytest.raises(GgctlError, match=r"already registered with a different recipe; pass --bump to "
                                             r"register 1\.0\.1"):
            commands.run_publish(context(aws, components, built, []), [GRABBER.key], bucket, bump=False)
        stubber.assert_no_pending_responses()

    with Stubber(aws.greengrass()) as stubber:
        expect_existing_version(stubber, grabber.name, "1.0.0", other)
        expect_new_version(stubber, grabber.name, "1.0.1")
        lines: list[str] = []
        commands.run_publish(context(aws, components, built, lines), [GRABBER.key], bucket, bump=True)
        stubber.assert_no_pending_responses()
    assert f"uploaded {Path(built / 'artifacts' / grabber.name / '1.0.0' / artifact_file(grabber))} -> " \
           f"s3://{bucket}/{grabber.name}/1.0.1/{artifact_file(grabber)}" in " ".join(lines)
    assert published_recipe(built, grabber.__class__(**{**grabber.__dict__, "version": "1.0.1"}))[
        "ComponentVersion"] == "1.0.1"
    # Deploy picks the bumped version up from the state publish left.
    chosen = commands.deployed_components(context(aws, components, built, []), {})
    assert chosen[GRABBER.key].version == "1.0.1" and chosen[COUNTER.key].version == "1.0.0"


def test_conflict_on_registration_is_one_line_with_the_fix(aws: Aws, components: dict, built: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    grabber = components[GRABBER.key]
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_client_error("get_component", "ResourceNotFoundException", http_status_code=404,
                                 expected_params={"arn": arn(grabber.name, "1.0.0"), "recipeOutputFormat": "YAML"})
        stubber.add_client_error("create_component_version", "ConflictException", http_status_code=409,
                                 service_message="Component version already exists",
                                 expected_params={"inlineRecipe": ANY})
        with pytest.raises(GgctlError) as raised:
            commands.run_publish(context(aws, components, built, []), [GRABBER.key], "pc-artifacts-conflict",
                                 bump=False)
    message = str(raised.value)
    assert "\n" not in message and "Component version already exists" in message and "--bump" in message


def test_failed_artifact_check_is_reported(aws: Aws, components: dict, built: Path) -> None:
    grabber = components[GRABBER.key]
    with Stubber(aws.greengrass()) as stubber:
        stubber.add_client_error("get_component", "ResourceNotFoundException", http_status_code=404)
        stubber.add_response("create_component_version", {
            "arn": arn(grabber.name, "1.0.0"), "componentName": grabber.name, "componentVersion": "1.0.0",
            "creationTimestamp": "2024-01-01T00:00:00Z", "status": {"componentState": "REQUESTED"}})
        stubber.add_response("describe_component", {"status": {"componentState": "FAILED",
                                                               "message": "Digest mismatch"}})
        with pytest.raises(GgctlError, match=r"Greengrass rejected .* Digest mismatch"):
            commands.run_publish(context(aws, components, built, []), [GRABBER.key], "pc-artifacts-failed",
                                 bump=False)


def test_dry_run_reads_but_writes_nothing(aws: Aws, components: dict, built: Path) -> None:
    bucket = "pc-artifacts-dry"
    grabber, counter = components[GRABBER.key], components[COUNTER.key]
    lines: list[str] = []
    with Stubber(aws.greengrass()) as stubber:
        for component in (grabber, counter):
            stubber.add_client_error("get_component", "ResourceNotFoundException", http_status_code=404,
                                     expected_params={"arn": arn(component.name, component.version),
                                                      "recipeOutputFormat": "YAML"})
        commands.run_publish(context(aws, components, built, lines, dry_run=True), [], bucket, bump=False)
        stubber.assert_no_pending_responses()  # no create_component_version was called
    assert lines[0] == f"would create bucket s3://{bucket} in {REGION}"
    for component in (grabber, counter):
        path = built / "artifacts" / component.name / component.version / artifact_file(component)
        assert any(line.startswith(f"would upload {path} -> s3://{bucket}/{component.name}/{component.version}/")
                   for line in lines), lines
        assert f"would register {component.name} {component.version} with this recipe:" in lines
    registered = yaml.safe_load(lines[lines.index(f"would register {counter.name} 1.0.0 with this recipe:") + 1])
    assert registered["Manifests"][0]["Artifacts"][0]["URI"] == \
        f"s3://{bucket}/{counter.name}/1.0.0/count_people.zip"
    assert bucket not in [b["Name"] for b in aws.s3().list_buckets()["Buckets"]]
    assert not (built / "published").exists() and not (built / commands.STATE).exists()


def test_publish_without_build_says_so(aws: Aws, components: dict, tmp_path: Path) -> None:
    with pytest.raises(GgctlError, match=r"is not built; run 'ggctl build gst-grabber' first"):
        commands.run_publish(context(aws, components, tmp_path, []), [], "pc-x", bump=False)


def test_rebuilt_artifact_is_checked_against_its_manifest(aws: Aws, components: dict, built: Path) -> None:
    artifact = fake_grabber(built, components[GRABBER.key], b"one")
    Path(artifact.path).write_bytes(b"two")
    with pytest.raises(GgctlError, match="changed since it was built"):
        commands.run_publish(context(aws, components, built, []), [GRABBER.key], "pc-x", bump=False)
