"""Every object of every overlay is valid for the Kubernetes API, checked offline.

Core kinds against the Kubernetes OpenAPI schemas that kubernetes-validate ships (strict:
an unknown field fails, as `kubectl apply --validate=strict` would refuse it), for the
oldest Kubernetes these manifests support (1.30: the preStop `sleep` action) and the
newest the package knows. KEDA's kinds against JSON schemas of ours derived from KEDA's
CRDs (keda-*.schema.json beside this file).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from .manifests import KUBERNETES, OVERLAYS, Object, Rendered, render

OLDEST_SUPPORTED = "1.30.0"
KUBERNETES_VERSIONS = (OLDEST_SUPPORTED, kubernetes_validate.latest_version())
HERE = Path(__file__).parent
KEDA_SCHEMAS = {
    "ScaledObject": HERE / "keda-scaledobject.schema.json",
    "TriggerAuthentication": HERE / "keda-triggerauthentication.schema.json",
}


def _keda_errors(obj: Object) -> list[str]:
    schema: dict[str, Any] = json.loads(KEDA_SCHEMAS[obj["kind"]].read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]


def _name(obj: Object) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def test_every_overlay_renders_the_four_services(rendered: Rendered) -> None:
    deployments = {obj["metadata"]["name"] for obj in rendered.all("Deployment")}
    assert deployments == {"api", "worker", "webhooks", "janitor"}
    assert {"small", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_match_the_kubernetes_schemas(rendered: Rendered, version: str) -> None:
    errors = []
    for obj in rendered.objects:
        if obj["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{_name(obj)}: {exc.message}")
    assert errors == []


def test_keda_objects_match_their_schemas(rendered: Rendered) -> None:
    keda = [obj for obj in rendered.objects if obj["apiVersion"].startswith("keda.sh/")]
    assert {obj["kind"] for obj in keda} == set(KEDA_SCHEMAS)
    for obj in keda:
        assert _keda_errors(obj) == [], _name(obj)


def test_nothing_of_the_base_escapes_its_overlay(rendered: Rendered) -> None:
    # every namespaced object lands in the overlay's namespace, which the overlay creates
    namespaces = [obj["metadata"]["name"] for obj in rendered.all("Namespace")]
    assert len(namespaces) == 1
    for obj in rendered.objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespaces[0], _name(obj)


# --- the checks catch what they should ----------------------------------------------------


def _scaled_object() -> Object:
    return copy.deepcopy(render(OVERLAYS[0]).one("ScaledObject", "worker"))


def test_keda_schema_refuses_a_misspelt_field() -> None:
    scaled = _scaled_object()
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    assert any("maxReplicas" in error for error in _keda_errors(scaled))


def test_keda_schema_refuses_a_regex_over_amqp() -> None:
    # KEDA's rabbitmq scaler refuses useRegex unless it asks the management HTTP API
    scaled = _scaled_object()
    scaled["spec"]["triggers"][0]["metadata"]["protocol"] = "amqp"
    assert _keda_errors(scaled) != []


def test_keda_schema_refuses_a_number_given_as_a_number() -> None:
    # trigger metadata is a map of strings: `value: 2` unquoted is refused by the CRD
    scaled = _scaled_object()
    scaled["spec"]["triggers"][0]["metadata"]["value"] = 2
    assert _keda_errors(scaled) != []


def test_kubernetes_schema_refuses_a_misspelt_field() -> None:
    deployment = copy.deepcopy(render(OVERLAYS[0]).one("Deployment", "worker"))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, OLDEST_SUPPORTED, strict=True)


def test_the_schemas_come_with_the_package() -> None:
    # offline: the package's own copy of the schemas, for every version asked for
    package = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    for version in KUBERNETES_VERSIONS:
        assert (package / f"v{version}-local-strict").is_dir(), version
    assert (KUBERNETES / "base" / "kustomization.yaml").is_file()
