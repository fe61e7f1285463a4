"""The container deployment: compose.yaml, its dev override, the Dockerfiles, .env.example.

No Docker engine runs on the development machines, so this is checked statically: PyYAML
reads the files, and Debian's docker-compose 1.29 validates and interpolates them
(`docker-compose config`), which needs no engine. The tests that run docker-compose skip
when it is not installed, and fail instead when `CI` is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from reports_api.settings import ApiSettings
from reports_janitor.settings import JanitorSettings
from reports_shared.settings import env_name
from reports_worker.settings import WebhookSettings, WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
OVERRIDE = ROOT / "compose.override.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

INFRASTRUCTURE = ("rabbitmq", "redis", "minio")
#: App service -> the package its image runs with `python -m`.
APPS = {
    "api": "reports_api",
    "worker": "reports_worker",
    "webhooks": "reports_worker",
    "janitor": "reports_janitor",
}
#: App service -> the folder of the Dockerfile it is built from (webhooks: the worker image).
SOURCES = {"api": "api", "worker": "worker", "webhooks": "worker", "janitor": "janitor"}
#: App service -> the settings class its container loads.
SETTINGS = {
    "api": ApiSettings,
    "worker": WorkerSettings,
    "webhooks": WebhookSettings,
    "janitor": JanitorSettings,
}
#: The secrets .env must provide, with values fit for MinIO's length rules.
SECRETS = {
    "MINIO_ROOT_USER": "minio-root",
    "MINIO_ROOT_PASSWORD": "minio-root-secret-1",
    "AR_S3_ACCESS_KEY": "reports-key",
    "AR_S3_SECRET_KEY": "reports-secret-1",
    "RABBITMQ_USER": "reports",
    "RABBITMQ_PASSWORD": "rabbit-secret-1",
    "AR_TOKEN_SECRET": "token-secret-1",
}
INSTALL = "apt-get install -y --no-install-recommends docker-compose"

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


# --- helpers ------------------------------------------------------------------------------


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _compose_texts() -> str:
    """compose.yaml and its override without comment lines (compose interpolates no comment)."""
    lines = (COMPOSE.read_text() + OVERRIDE.read_text()).splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _with_defaults(value: str) -> str:
    """`value` with every `${VAR:-default}` replaced by its default, as with VAR unset."""
    return _VARIABLE.sub(lambda m: m.group(2).removeprefix(":").removeprefix("-"), value)


def _seconds(duration: str) -> float:
    """Seconds in a compose duration such as `2h5m` or `90s`."""
    parts = _DURATION.findall(duration)
    assert "".join(number + unit for number, unit in parts) == duration, duration
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _job_time_limit_seconds() -> int:
    """The worker's default job time limit (compose leaves AR_JOB_TIME_LIMIT_SECONDS unset)."""
    return WorkerSettings(s3_access_key="k", s3_secret_key="s").job_time_limit_seconds


def _final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    """Instructions of a Dockerfile's last stage, as (INSTRUCTION, arguments)."""
    lines = [
        line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    logical = re.sub(r"\\\n", " ", "\n".join(lines))
    build_args: dict[str, str] = {}  # ARGs before the first FROM, usable in FROM lines
    stage: list[tuple[str, str]] | None = None
    for line in logical.splitlines():
        if not line.strip():
            continue
        instruction, _, arguments = line.strip().partition(" ")
        instruction, arguments = instruction.upper(), arguments.strip()
        if instruction == "FROM":
            stage = []
            arguments = re.sub(r"\$\{(\w+)\}", lambda m: build_args[m.group(1)], arguments)
        if stage is None:
            name, _, default = arguments.partition("=")
            build_args[name] = default
        else:
            stage.append((instruction, arguments))
    assert stage, f"{dockerfile} has no FROM"
    return stage


@pytest.fixture
def docker_compose() -> str:
    """Path of Debian's docker-compose; skip without it, fail without it when CI is set."""
    path = shutil.which("docker-compose")
    if path is None:
        reason = f"docker-compose is not installed (`{INSTALL}`)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the compose file must be validated")
        pytest.skip(reason)
    return path


def _compose_config(
    binary: str, tmp_path: Path, environ: dict[str, str], *files: Path, env_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` in a clean environment that ignores the developer's .env."""
    if env_file is None:
        env_file = tmp_path / "empty.env"
        env_file.write_text("")
    command = [binary, "--env-file", str(env_file)]
    for file in files or (COMPOSE,):
        command += ["-f", str(file)]
    return subprocess.run(
        [*command, "config"],
        check=False,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- docker-compose accepts the files -----------------------------------------------------


def test_compose_file_is_valid_when_the_secrets_are_set(
    docker_compose: str, tmp_path: Path
) -> None:
    # given the four secrets, when docker-compose renders compose.yaml
    result = _compose_config(docker_compose, tmp_path, SECRETS)
    # then it accepts it
    assert result.returncode == 0, result.stderr


def test_compose_file_with_the_dev_override_is_valid(docker_compose: str, tmp_path: Path) -> None:
    result = _compose_config(docker_compose, tmp_path, SECRETS, COMPOSE, OVERRIDE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_a_secret(
    docker_compose: str, tmp_path: Path, secret: str
) -> None:
    # given every secret but one
    environ = {name: value for name, value in SECRETS.items() if name != secret}
    # when docker-compose renders compose.yaml
    result = _compose_config(docker_compose, tmp_path, environ)
    # then it stops and names the missing secret
    assert result.returncode != 0
    assert f"set {secret} in .env" in result.stderr


def test_compose_refuses_an_unedited_copy_of_env_example(
    docker_compose: str, tmp_path: Path
) -> None:
    # given `cp .env.example .env` and nothing filled in
    result = _compose_config(docker_compose, tmp_path, {}, env_file=ENV_EXAMPLE)
    # then compose asks for the secrets instead of starting with empty ones
    assert result.returncode != 0
    assert "see .env.example" in result.stderr


def test_services_and_infrastructure_share_the_credentials_from_env(
    docker_compose: str, tmp_path: Path
) -> None:
    # given the secrets, when compose interpolates them
    result = _compose_config(docker_compose, tmp_path, SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    # then MinIO's root user is minio-init's alone, the services get the app user it makes,
    # and the AMQP URL holds RabbitMQ's user
    minio = services["minio"]["environment"]
    init = services["minio-init"]["environment"]
    rabbitmq = services["rabbitmq"]["environment"]
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        SECRETS["MINIO_ROOT_USER"],
        SECRETS["MINIO_ROOT_PASSWORD"],
    )
    assert init["MC_HOST_minio"] == "http://minio-root:minio-root-secret-1@minio:9000"
    assert (init["APP_ACCESS_KEY"], init["APP_SECRET_KEY"]) == (
        SECRETS["AR_S3_ACCESS_KEY"],
        SECRETS["AR_S3_SECRET_KEY"],
    )
    assert (rabbitmq["RABBITMQ_DEFAULT_USER"], rabbitmq["RABBITMQ_DEFAULT_PASS"]) == (
        SECRETS["RABBITMQ_USER"],
        SECRETS["RABBITMQ_PASSWORD"],
    )
    for app in APPS:
        env = services[app]["environment"]
        assert env["AR_S3_ENDPOINT"] == "minio:9000"
        assert env["AR_S3_ACCESS_KEY"] == SECRETS["AR_S3_ACCESS_KEY"]
        assert env["AR_S3_SECRET_KEY"] == SECRETS["AR_S3_SECRET_KEY"]
        assert env["AR_AMQP_URL"] == "amqp://reports:rabbit-secret-1@rabbitmq:5672/%2F"
        assert env["AR_REDIS_URL"] == "redis://redis:6379/0"
        assert "MINIO_ROOT_PASSWORD" not in env


# --- what the issue demands of compose.yaml -----------------------------------------------


def test_secrets_are_required_and_never_defaulted() -> None:
    references = [m for m in _VARIABLE.finditer(_compose_texts()) if m.group(1) in SECRETS]
    assert {m.group(1) for m in references} == set(SECRETS)
    for reference in references:
        assert reference.group(2).startswith(":?"), reference.group(0)


def test_worker_can_be_scaled() -> None:
    # `docker compose up --scale worker=4` needs no fixed container name and no host port
    worker = _services()["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker


@pytest.mark.parametrize("app", sorted(APPS))
def test_app_service_waits_for_healthy_infrastructure(app: str) -> None:
    depends_on = _services()[app]["depends_on"]
    assert depends_on == {
        **{name: {"condition": "service_healthy"} for name in INFRASTRUCTURE},
        "minio-init": {"condition": "service_completed_successfully"},
    }


@pytest.mark.parametrize("app", sorted(APPS))
def test_every_setting_of_a_service_can_reach_its_container(app: str) -> None:
    # given the settings class the service loads, and the environment compose gives it
    environment = _services()[app]["environment"]
    fixed = _fixed_in_env_example()
    for field in msgspec.structs.fields(SETTINGS[app]):
        name = env_name(field.name)
        # then each setting is passed on from .env, or fixed with its reason in .env.example
        assert name in environment, f"{name} never reaches the {app} container"
        value = str(environment[name])
        if not value.startswith(f"${{{name}"):
            assert name in fixed, f"{name} is fixed in compose.yaml but not listed as fixed"


def _fixed_in_env_example() -> set[str]:
    """Settings that .env.example's "Fixed by compose.yaml" section names."""
    text = ENV_EXAMPLE.read_text()
    section = text.split("# --- Fixed by compose.yaml", 1)[1].split("# ---", 1)[0]
    return set(re.findall(r"\bAR_[A-Z0-9_]+", section))


@pytest.mark.parametrize("app", sorted(APPS))
def test_app_containers_run_without_privileges_on_a_read_only_root(app: str) -> None:
    service = _services()[app]
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["read_only"] is True
    # and what they write goes to /tmp: a tmpfs, or a volume of its own for the worker's ZIPs
    assert "/tmp" in service.get("tmpfs", []) + service.get("volumes", [])


def test_worker_has_cpu_and_memory_limits() -> None:
    worker = _services()["worker"]
    assert float(_with_defaults(str(worker["cpus"]))) >= 1
    assert re.fullmatch(r"\d+[kmg]", _with_defaults(worker["mem_limit"]))


@pytest.mark.parametrize("service", [*INFRASTRUCTURE, "minio-init"])
def test_infrastructure_images_are_pinned_to_exact_versions(service: str) -> None:
    image = _services()[service]["image"]
    tag = image.rsplit(":", 1)[1]
    assert re.match(r"(RELEASE\.|\d+\.\d+\.\d+)", tag), image


@pytest.mark.parametrize("service", [*INFRASTRUCTURE, *sorted(APPS)])
def test_every_service_reports_its_health(service: str) -> None:
    test = _services()[service]["healthcheck"]["test"]
    assert isinstance(test, list)
    assert test[0] == "CMD"
    assert len(test) > 1


def test_api_healthcheck_asks_the_health_endpoint_on_the_container_port() -> None:
    api = _services()["api"]
    assert "http://127.0.0.1:8000/health" in " ".join(api["healthcheck"]["test"])
    assert [_with_defaults(port) for port in api["ports"]] == ["8000:8000"]
    assert api["environment"]["AR_API_HOST"] == "0.0.0.0"
    assert api["environment"]["AR_API_PORT"] == "8000"


@pytest.mark.parametrize("app", ["worker", "janitor"])
def test_worker_and_janitor_healthchecks_probe_the_connections(app: str) -> None:
    assert _services()[app]["healthcheck"]["test"] == ["CMD", "python", "-m", APPS[app], "--check"]


@pytest.mark.parametrize("app", sorted(APPS))
def test_app_service_is_restarted_when_it_dies(app: str) -> None:
    assert _services()[app]["restart"] in {"unless-stopped", "always"}


def test_webhooks_run_the_worker_image_on_their_own_queue_and_probe_their_connections() -> None:
    webhooks = _services()["webhooks"]
    assert webhooks["command"] == ["webhooks"]  # after the image's python -m reports_worker
    test = ["CMD", "python", "-m", "reports_worker", "webhooks", "--check"]
    assert webhooks["healthcheck"]["test"] == test
    assert "AR_TOKEN_SECRET:?" in webhooks["environment"]["AR_TOKEN_SECRET"]


def test_worker_and_janitor_agree_on_the_delivery_limit() -> None:
    services = _services()
    limits = {services[app]["environment"]["AR_MAX_DELIVERIES"] for app in ("worker", "janitor")}
    assert limits == {"${AR_MAX_DELIVERIES:-}"}


def test_redis_keeps_an_append_only_file_on_a_named_volume() -> None:
    redis = _services()["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    volumes = yaml.safe_load(COMPOSE.read_text())["volumes"]
    assert any(v.split(":")[0] in volumes and v.split(":")[1] == "/data" for v in redis["volumes"])


def test_worker_stop_grace_period_outlasts_a_running_report() -> None:
    grace = _with_defaults(_services()["worker"]["stop_grace_period"])
    assert _seconds(grace) > _job_time_limit_seconds()


def test_rabbitmq_does_not_redeliver_a_report_that_is_still_running() -> None:
    # given the RabbitMQ config that compose mounts into conf.d
    mounts = [v.split(":") for v in _services()["rabbitmq"]["volumes"] if v.startswith("./")]
    sources = [ROOT / s for s, target, *_ in mounts if target.startswith("/etc/rabbitmq/conf.d/")]
    assert len(sources) == 1
    assert sources[0].name.endswith(".conf")
    settings = dict(
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition("=")
            for line in sources[0].read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    )
    # then a delivery may stay unacknowledged for longer than a report may run
    assert int(settings["consumer_timeout"]) > _job_time_limit_seconds() * 1000


def test_env_example_lists_every_variable_compose_reads() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    used = {m.group(1) for m in _VARIABLE.finditer(_compose_texts())}
    assert used - documented == set()


def test_env_example_holds_no_secret_values() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    assigned = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert assigned == dict.fromkeys(SECRETS, "")


# --- the images ---------------------------------------------------------------------------


@pytest.mark.parametrize("app", sorted(APPS))
def test_compose_builds_each_app_from_its_dockerfile_at_the_repository_root(app: str) -> None:
    build = _services()[app]["build"]
    assert build == {"context": ".", "dockerfile": f"services/{SOURCES[app]}/Dockerfile"}


@pytest.mark.parametrize("app", sorted(APPS))
def test_image_runs_as_a_non_root_user(app: str) -> None:
    users = [
        args
        for instruction, args in _final_stage(ROOT / "services" / SOURCES[app] / "Dockerfile")
        if instruction == "USER"
    ]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


@pytest.mark.parametrize("app", sorted(APPS))
def test_image_starts_its_package_in_exec_form(app: str) -> None:
    stage = _final_stage(ROOT / "services" / SOURCES[app] / "Dockerfile")
    entrypoints = [args for instruction, args in stage if instruction == "ENTRYPOINT"]
    assert [json.loads(args) for args in entrypoints] == [["python", "-m", APPS[app]]]
    for instruction, args in stage:
        if instruction == "CMD":
            assert isinstance(json.loads(args), list)


@pytest.mark.parametrize("app", sorted(APPS))
def test_image_is_slim_and_logs_unbuffered(app: str) -> None:
    stage = _final_stage(ROOT / "services" / SOURCES[app] / "Dockerfile")
    assert stage[0][0] == "FROM"
    assert re.match(r"python:3\.11\.\d+-slim-bookworm\b", stage[0][1])
    env = " ".join(args for instruction, args in stage if instruction == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)


@pytest.mark.parametrize("app", sorted(APPS))
def test_image_installs_only_its_own_package_from_the_lock_file(app: str) -> None:
    text = re.sub(r"\\\n", " ", (ROOT / "services" / SOURCES[app] / "Dockerfile").read_text())
    syncs = [line for line in text.splitlines() if re.match(r"\s*RUN\s+uv sync\b", line)]
    assert syncs
    for sync in syncs:
        options = sync.split()
        assert {"--frozen", "--no-dev"} <= set(options)
        assert options[options.index("--package") + 1] == f"async-reports-{SOURCES[app]}"
