"""Settings come from the environment, typed, with clear errors, documented for operators."""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import pytest

from reports_api.settings import ApiSettings
from reports_janitor.settings import JanitorSettings
from reports_shared.errors import ConfigurationError
from reports_shared.settings import env_name, load_settings, redact_url
from reports_worker.settings import WebhookSettings, WorkerSettings

SECRETS = {"AR_S3_ACCESS_KEY": "key", "AR_S3_SECRET_KEY": "secret", "AR_TOKEN_SECRET": "t"}


def test_values_are_converted_from_their_text() -> None:
    settings = load_settings(
        WorkerSettings, {**SECRETS, "AR_MAX_CONCURRENT_JOBS": "4", "AR_S3_SECURE": "true"}
    )
    assert settings.max_concurrent_jobs == 4
    assert settings.s3_secure is True


def test_a_missing_secret_names_its_variable() -> None:
    with pytest.raises(ConfigurationError, match="AR_S3_SECRET_KEY"):
        load_settings(ApiSettings, {"AR_S3_ACCESS_KEY": "key"})


def test_a_malformed_number_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="AR_API_PORT"):
        load_settings(ApiSettings, {**SECRETS, "AR_API_PORT": "eighty"})


def test_an_empty_variable_means_the_default() -> None:
    assert load_settings(ApiSettings, {**SECRETS, "AR_API_PORT": ""}).api_port == 8000


def test_the_large_lane_keeps_one_slot_for_small_jobs() -> None:
    assert load_settings(WorkerSettings, SECRETS).large_lane_limit == 1
    five = load_settings(WorkerSettings, {**SECRETS, "AR_MAX_CONCURRENT_JOBS": "5"})
    assert five.large_lane_limit == 4


def test_urls_lose_their_password_in_logs() -> None:
    assert redact_url("amqp://guest:pw@host:5672/%2F") == "amqp://guest:***@host:5672/%2F"


def test_the_configuration_page_documents_every_setting_with_its_default() -> None:
    readme = (Path(__file__).parents[2] / "docs/operators/configuration.md").read_text()
    table = dict(re.findall(r"^\| `(AR_[A-Z0-9_]+)`[^|]*\| `?([^|`]*)`? \|", readme, re.M))
    for cls in (ApiSettings, WorkerSettings, WebhookSettings, JanitorSettings):
        for field in msgspec.structs.fields(cls):
            name = env_name(field.name)
            assert name in readme, f"{name} is not in docs/operators/configuration.md"
            if field.default is not msgspec.NODEFAULT and name in table:
                documented = table[name]
                if documented == "(none)":
                    assert field.default == "", f"{name}: README says none, code {field.default}"
                else:
                    expected = msgspec.convert(documented, type(field.default), strict=False)
                    assert expected == field.default, (
                        f"{name}: README {documented}, code {field.default}"
                    )


def test_the_api_runs_one_server_process_or_one_per_usable_cpu_when_told_0() -> None:
    assert load_settings(ApiSettings, SECRETS).server_processes == 1
    per_cpu = load_settings(ApiSettings, {**SECRETS, "AR_API_WORKERS": "0"})
    assert per_cpu.server_processes == len(os.sched_getaffinity(0))
    told = load_settings(ApiSettings, {**SECRETS, "AR_API_WORKERS": "3"})
    assert told.server_processes == 3


def test_each_api_process_can_take_one_json_body_of_the_largest_size() -> None:
    # One process holds the whole budget; four share it out...
    one = load_settings(ApiSettings, SECRETS)
    assert one.json_budget_per_process == one.max_inflight_json_bytes
    small = load_settings(ApiSettings, {**SECRETS, "AR_API_WORKERS": "4",
                                        "AR_MAX_JSON_BYTES": str(10 * 2**20)})  # fmt: skip
    assert small.json_budget_per_process == small.max_inflight_json_bytes // 4
    # ... but never below what one body at the limit takes (3 x 100 MB > 768 MB / 4)
    four = load_settings(ApiSettings, {**SECRETS, "AR_API_WORKERS": "4"})
    assert four.json_budget_per_process == 3 * four.max_json_bytes
