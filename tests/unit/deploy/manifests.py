"""The Kubernetes manifests of deploy/kubernetes, rendered per overlay by a real Kustomize.

Kustomize is the one built into kubectl (`kubectl kustomize`, Kustomize v5 in kubectl
1.32, which the development and CI machines' image ships). Nothing here renders by
itself: a manifest that only our code could read would prove nothing about kubectl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(path.name for path in (KUBERNETES / "overlays").iterdir() if path.is_dir())

Object = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """Every object one overlay renders to."""

    overlay: str
    objects: list[Object]

    def all(self, kind: str) -> list[Object]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str) -> Object:
        found = [obj for obj in self.all(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.overlay}: {len(found)} {kind} named {name}"
        return found[0]

    def config_map(self, name: str) -> dict[str, str]:
        """The data of a generated ConfigMap, by its name before the content hash."""
        found = [
            obj["data"]
            for obj in self.all("ConfigMap")
            if obj["metadata"]["name"].rsplit("-", 1)[0] == name
        ]
        assert len(found) == 1, f"{self.overlay}: {len(found)} ConfigMaps named {name}-*"
        data: dict[str, str] = found[0]
        return data

    def config_map_named(self, generated: str) -> dict[str, str]:
        """The data of a ConfigMap by its full (generated) name."""
        data: dict[str, str] = self.one("ConfigMap", generated)["data"]
        return data


def kubectl() -> str:
    """Path of kubectl; skip without it, fail without it when CI is set."""
    path = shutil.which("kubectl")
    if path is None:
        reason = "kubectl (with its built-in Kustomize) is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the manifests must be rendered")
        pytest.skip(reason)
    return path


@cache
def _render(binary: str, overlay: str) -> Rendered:
    result = subprocess.run(
        [binary, "kustomize", str(KUBERNETES / "overlays" / overlay)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
    )
    assert result.returncode == 0, f"{overlay} does not render:\n{result.stderr}"
    objects = [obj for obj in yaml.safe_load_all(result.stdout) if obj]
    return Rendered(overlay, objects)


def render(overlay: str) -> Rendered:
    """`kubectl kustomize deploy/kubernetes/overlays/<overlay>`, parsed (once per run)."""
    return _render(kubectl(), overlay)


def pod_spec(deployment: Object) -> Object:
    spec: Object = deployment["spec"]["template"]["spec"]
    return spec


def container(deployment: Object) -> Object:
    containers: list[Object] = pod_spec(deployment)["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    return containers[0]
