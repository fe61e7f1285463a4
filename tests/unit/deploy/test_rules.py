"""What the deployment must guarantee, checked on every overlay as rendered.

A worker is never killed mid-report, the autoscaler counts what the workers hold, the
build sees the cores it is given, probes ask the right thing, pods run unprivileged and
images are pinned.
"""

from __future__ import annotations

import re

import pytest

from reports_shared.constants import Lane, Names
from reports_shared.settings import load_settings
from reports_worker.settings import WorkerSettings

from .manifests import Object, Rendered, container, pod_spec

APPS = ("api", "worker", "webhooks", "janitor")
#: Time a worker needs, after its report's time limit, to give messages back and exit.
SHUTDOWN_MARGIN_SECONDS = 60
MIB = 1024 * 1024
_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")
_UNITS = {None: 1, "Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB}


def _bytes(quantity: str) -> int:
    match = _QUANTITY.match(quantity)
    assert match, quantity
    return int(match.group(1)) * _UNITS[match.group(2)]


def _worker_settings(rendered: Rendered) -> WorkerSettings:
    """The worker's settings as its ConfigMaps give them (defaults for empty values)."""
    given = {
        **rendered.config_map("async-reports-common"),
        **rendered.config_map("async-reports-worker"),
    }
    return load_settings(
        WorkerSettings, {**given, "AR_S3_ACCESS_KEY": "k", "AR_S3_SECRET_KEY": "s"}
    )


def _int(value: str) -> int:
    return int(value)


# --- a worker is never killed mid-report --------------------------------------------------


def test_worker_grace_period_outlasts_a_running_report(rendered: Rendered) -> None:
    # given the job time limit the workers get (Dramatiq's shutdown timeout is the same)
    limit = _worker_settings(rendered).job_time_limit_seconds
    grace = pod_spec(rendered.one("Deployment", "worker"))["terminationGracePeriodSeconds"]
    # then Kubernetes waits longer than a report may run before it kills a stopping worker
    assert grace >= limit + SHUTDOWN_MARGIN_SECONDS


def test_worker_drains_on_sigterm_alone(rendered: Rendered) -> None:
    # the drain is Dramatiq's SIGTERM handling: no hook that could run into the grace period
    spec = container(rendered.one("Deployment", "worker"))
    assert "lifecycle" not in spec
    assert "command" not in spec  # the image's entrypoint, python -m reports_worker
    assert "args" not in spec


def test_scaled_deployments_leave_their_replicas_to_the_autoscaler(rendered: Rendered) -> None:
    for name in ("api", "worker"):
        assert "replicas" not in rendered.one("Deployment", name)["spec"], name


# --- the autoscaler counts what the workers hold ------------------------------------------


def test_worker_scales_on_ready_and_unacknowledged_messages_of_both_lanes(
    rendered: Rendered,
) -> None:
    scaled = rendered.one("ScaledObject", "worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "worker"
    (trigger,) = scaled["spec"]["triggers"]
    metadata = trigger["metadata"]
    assert trigger["type"] == "rabbitmq"
    # the management HTTP API's count includes unacked messages (running, prefetched)
    assert metadata["protocol"] == "http"
    assert metadata.get("excludeUnacknowledged", "false") == "false"
    assert metadata["mode"] == "QueueLength"
    # both lanes' queues, in the namespace the services use, summed; not the delay queues
    names = Names(_worker_settings(rendered).namespace)
    assert metadata["useRegex"] == "true"
    assert metadata["operation"] == "sum"
    pattern = re.compile(metadata["queueName"])
    for lane in Lane:
        assert pattern.search(names.queue(lane)), lane
        assert not pattern.search(f"{names.queue(lane)}.DQ")
        assert not pattern.search(f"{names.queue(lane)}.XQ")
    assert not pattern.search(names.webhook_queue)


def test_the_management_api_address_comes_from_the_secret(rendered: Rendered) -> None:
    scaled = rendered.one("ScaledObject", "worker")
    assert "host" not in scaled["spec"]["triggers"][0]["metadata"]
    auth = rendered.one(
        "TriggerAuthentication", scaled["spec"]["triggers"][0]["authenticationRef"]["name"]
    )
    assert [ref["parameter"] for ref in auth["spec"]["secretTargetRef"]] == ["host"]
    assert auth["spec"]["secretTargetRef"][0]["name"] == "async-reports"


def test_only_keda_scales_the_worker(rendered: Rendered) -> None:
    # KEDA makes its own HPA; a second one on the same Deployment would fight it
    targets = [
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in rendered.all("HorizontalPodAutoscaler")
    ]
    assert targets == ["api"]


def test_every_worker_the_autoscaler_may_start_can_run_reports(rendered: Rendered) -> None:
    # the cap on running reports holds across all workers: below this, extra pods only wait
    settings = _worker_settings(rendered)
    scaled = rendered.one("ScaledObject", "worker")["spec"]
    per_pod = settings.worker_processes * settings.worker_threads
    assert settings.max_concurrent_jobs >= scaled["maxReplicaCount"] * per_pod
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    # and the target backlog per pod is what one pod holds
    assert float(scaled["triggers"][0]["metadata"]["value"]) == per_pod


# --- resources ----------------------------------------------------------------------------


def test_worker_cpu_is_whole_cores_that_the_build_reads_as_its_quota(rendered: Rendered) -> None:
    # machine.py reads the CFS quota (set by limits.cpu only) and rounds it down to cores
    resources = container(rendered.one("Deployment", "worker"))["resources"]
    assert re.fullmatch(r"[1-9]\d*", str(resources["limits"]["cpu"]))
    for resource in ("cpu", "memory"):  # Guaranteed QoS: not the first to be evicted
        assert resources["requests"][resource] == resources["limits"][resource]


def test_api_memory_holds_the_json_bodies_it_may_accept(rendered: Rendered) -> None:
    inflight = _int(rendered.config_map("async-reports-api")["AR_MAX_INFLIGHT_JSON_BYTES"])
    limit = _bytes(container(rendered.one("Deployment", "api"))["resources"]["limits"]["memory"])
    assert limit >= inflight + 256 * MIB


@pytest.mark.parametrize("app", APPS)
def test_every_container_has_memory_bounds(rendered: Rendered, app: str) -> None:
    resources = container(rendered.one("Deployment", app))["resources"]
    assert _bytes(resources["requests"]["memory"]) <= _bytes(resources["limits"]["memory"])


def test_workers_build_zips_on_disk_not_in_memory(rendered: Rendered) -> None:
    worker = rendered.one("Deployment", "worker")
    volumes = {v["name"]: v for v in pod_spec(worker)["volumes"]}
    (mount,) = container(worker)["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    assert "medium" not in volumes[mount["name"]]["emptyDir"]
    assert {"name": "AR_WORK_DIR", "value": "/tmp"} in container(worker)["env"]


# --- probes -------------------------------------------------------------------------------


def test_api_probes_readiness_and_liveness_on_their_endpoints(rendered: Rendered) -> None:
    api = container(rendered.one("Deployment", "api"))
    port = api["ports"][0]
    assert port == {"name": "http", "containerPort": 8000}
    assert api["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert {"name": "AR_API_PORT", "value": "8000"} in api["env"]
    assert {"name": "AR_API_HOST", "value": "0.0.0.0"} in api["env"]
    service = rendered.one("Service", "api")
    assert service["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize(
    ("app", "command"),
    [
        ("worker", ["python", "-m", "reports_worker", "--check"]),
        ("webhooks", ["python", "-m", "reports_worker", "webhooks", "--check"]),
        ("janitor", ["python", "-m", "reports_janitor", "--check"]),
    ],
)
def test_queue_services_are_ready_when_their_connections_answer_and_never_restarted_for_it(
    rendered: Rendered, app: str, command: list[str]
) -> None:
    spec = container(rendered.one("Deployment", app))
    assert spec["readinessProbe"]["exec"]["command"] == command
    # an outage of Redis or RabbitMQ must not restart every worker (killing their reports)
    assert "livenessProbe" not in spec


def test_webhooks_run_the_worker_image_on_their_own_queue(rendered: Rendered) -> None:
    webhooks = container(rendered.one("Deployment", "webhooks"))
    assert webhooks["args"] == ["webhooks"]
    assert webhooks["image"] == container(rendered.one("Deployment", "worker"))["image"]


def test_janitor_runs_once(rendered: Rendered) -> None:
    assert rendered.one("Deployment", "janitor")["spec"]["replicas"] == 1


# --- disruption budgets -------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_every_service_has_a_disruption_budget_that_lets_a_drain_through(
    rendered: Rendered, app: str
) -> None:
    budget = rendered.one("PodDisruptionBudget", app)["spec"]
    assert budget["selector"]["matchLabels"] == {"app.kubernetes.io/component": app}
    if "minAvailable" in budget:
        hpa = rendered.one("HorizontalPodAutoscaler", app)["spec"]
        assert budget["minAvailable"] < hpa["minReplicas"]
    else:
        assert budget["maxUnavailable"] >= 1


# --- pod security -------------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_pods_run_unprivileged_on_a_read_only_root(rendered: Rendered, app: str) -> None:
    pod = pod_spec(rendered.one("Deployment", app))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert "hostNetwork" not in pod and "hostPID" not in pod
    context = container(rendered.one("Deployment", app))["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context.get("privileged", False) is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    # what it writes goes to an emptyDir at /tmp
    mounts = container(rendered.one("Deployment", app))["volumeMounts"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert [m["mountPath"] for m in mounts] == ["/tmp"]
    assert "emptyDir" in volumes[mounts[0]["name"]]


def test_the_namespace_enforces_the_restricted_pod_security_profile(rendered: Rendered) -> None:
    (namespace,) = rendered.all("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("app", APPS)
def test_images_are_pinned(rendered: Rendered, app: str) -> None:
    image = container(rendered.one("Deployment", app))["image"]
    name, _, digest = image.partition("@")
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    assert tag or digest, f"{image} names no tag"
    assert tag != "latest", image
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag) or re.fullmatch(r"sha256:[0-9a-f]{64}", digest)


# --- network ------------------------------------------------------------------------------


def _policies(rendered: Rendered, labels: dict[str, str]) -> list[Object]:
    """The NetworkPolicies that select a pod with these labels."""
    selected = []
    for policy in rendered.all("NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        matches = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
        for expression in selector.get("matchExpressions", []):
            assert expression["operator"] == "In"
            matches = matches and labels.get(expression["key"]) in expression["values"]
        if matches:
            selected.append(policy)
    return selected


def _pod_labels(rendered: Rendered, app: str) -> dict[str, str]:
    labels: dict[str, str] = rendered.one("Deployment", app)["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def _ports(rules: list[Object]) -> set[int]:
    return {port["port"] for rule in rules for port in rule.get("ports", [])}


@pytest.mark.parametrize("app", APPS)
def test_each_pod_reaches_only_what_it_uses(rendered: Rendered, app: str) -> None:
    policies = _policies(rendered, _pod_labels(rendered, app))
    # denied by default, both ways
    assert any(
        p["spec"].get("ingress") is None
        and p["spec"].get("egress") is None
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        for p in policies
    )
    ingress = [rule for p in policies for rule in p["spec"].get("ingress", [])]
    egress = [rule for p in policies for rule in p["spec"].get("egress", [])]
    # only the api takes connections, on its port
    assert _ports(ingress) == ({8000} if app == "api" else set())
    # out: DNS, Redis, RabbitMQ, S3 (and MinIO's 9000 where an overlay adds it); the
    # webhooks service also calls receivers over HTTP(S), never the metadata service
    allowed = {53, 6379, 6380, 5672, 5671, 443, 9000} | ({80} if app == "webhooks" else set())
    assert _ports(egress) <= allowed
    assert {53, 6379, 5672, 443} <= _ports(egress)
    assert all(rule.get("ports") for rule in egress), "an egress rule open on every port"
    for rule in egress:
        for peer in rule.get("to", []):
            if "ipBlock" in peer:
                assert "169.254.0.0/16" in peer["ipBlock"].get("except", [])
