"""The manifests' environment stays in step with the settings classes, like compose's.

Each container gets its settings from the generated ConfigMaps it reads (envFrom), the
Secret (secretKeyRef) and a few values fixed in its Deployment. Every AR_ setting of its
settings class must reach it, nothing else named AR_ may (a typo would be ignored by the
service), no secret may sit in a ConfigMap, and the values given must load.
"""

from __future__ import annotations

import msgspec
import pytest

from reports_api.settings import ApiSettings
from reports_janitor.settings import JanitorSettings
from reports_shared.settings import SECRET_WORDS, CommonSettings, env_name, load_settings
from reports_worker.settings import WebhookSettings, WorkerSettings

from .manifests import Object, Rendered, container

SETTINGS: dict[str, type[CommonSettings]] = {
    "api": ApiSettings,
    "worker": WorkerSettings,
    "webhooks": WebhookSettings,
    "janitor": JanitorSettings,
}
#: Settings held by the Secret: credentials, and the URLs that carry passwords.
SECRET_SETTINGS = {"AR_REDIS_URL", "AR_AMQP_URL"}
SECRET_NAME = "async-reports"


def _is_secret(name: str) -> bool:
    return name in SECRET_SETTINGS or any(word.upper() in name for word in SECRET_WORDS)


def _environment(rendered: Rendered, deployment: Object) -> tuple[dict[str, str], set[str]]:
    """(values the container gets from ConfigMaps and fixed entries, names from the Secret)."""
    spec = container(deployment)
    values: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        values.update(rendered.config_map_named(source["configMapRef"]["name"]))
    secret = set()
    for entry in spec.get("env", []):
        if "value" in entry:
            values[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (SECRET_NAME, entry["name"]), entry
            assert not ref.get("optional"), entry
            secret.add(entry["name"])
    return values, secret


@pytest.mark.parametrize("app", sorted(SETTINGS))
def test_every_setting_reaches_its_container_and_nothing_else_named_ar(
    rendered: Rendered, app: str
) -> None:
    values, secret = _environment(rendered, rendered.one("Deployment", app))
    expected = {env_name(field.name) for field in msgspec.structs.fields(SETTINGS[app])}
    given = {name for name in [*values, *secret] if name.startswith("AR_")}
    assert expected - given == set(), f"never reach the {app} container"
    assert given - expected == set(), f"reach the {app} container but are no setting of it"
    assert set(values) & secret == set(), "given twice"


@pytest.mark.parametrize("app", sorted(SETTINGS))
def test_secrets_come_from_the_secret_and_nothing_else_does(rendered: Rendered, app: str) -> None:
    values, secret = _environment(rendered, rendered.one("Deployment", app))
    assert {name for name in values if _is_secret(name)} == set()
    assert {name for name in secret if not _is_secret(name)} == set()


def test_no_secret_value_is_committed(rendered: Rendered) -> None:
    # the Secret is made by hand in the cluster (docs/operators/kubernetes.md)
    assert rendered.all("Secret") == []
    for config_map in rendered.all("ConfigMap"):
        assert {name for name in config_map["data"] if _is_secret(name)} == set()


@pytest.mark.parametrize("app", sorted(SETTINGS))
def test_the_values_given_load_as_the_service_would(rendered: Rendered, app: str) -> None:
    # given the container's environment, with stand-ins for the Secret's values
    values, secret = _environment(rendered, rendered.one("Deployment", app))
    stand_ins = {
        "AR_REDIS_URL": "redis://redis.internal:6379/0",
        "AR_AMQP_URL": "amqp://u:p@rabbitmq.internal:5672/%2F",
    }
    environ = {**values, **{name: stand_ins.get(name, "x") for name in secret}}
    # then the service loads its settings from it (every value of the right type)
    settings = load_settings(SETTINGS[app], environ)
    assert settings.s3_endpoint == values["AR_S3_ENDPOINT"]


def test_worker_and_janitor_agree_on_the_delivery_limit(rendered: Rendered) -> None:
    limits = {
        rendered.config_map(f"async-reports-{app}")["AR_MAX_DELIVERIES"]
        for app in ("worker", "janitor")
    }
    assert len(limits) == 1
