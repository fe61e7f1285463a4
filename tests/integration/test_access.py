"""API keys with roles, per-client submission limits and CORS, against a live stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, StackFactory

Q = "/api/AsyncReports"
ERP, CRM, OPS = "erp-key-0123456789abcdef", "crm-key-0123456789abcdef", "ops-key-0123456789abcdef"
KEYS = f"client:erp:{ERP},client:crm:{CRM},operator:ops:{OPS}"
ROOT = Path(__file__).resolve().parents[2]


def submit(stack: RunningStack, key: str | None, number: str = "F-1") -> dict[str, object]:
    headers = {"X-API-Key": key} if key else {}
    body = {"reportType": "FacturacionMasiva", "userName": "ana",
            "jsonData": json.dumps([{**INVOICE, "invoiceNumber": number}])}  # fmt: skip
    response = stack.client.post(f"{Q}/queue-json", json=body, headers=headers)
    return {**response.json(), "code": response.status_code}


@pytest.fixture(scope="module")
def keyed(module_stacks: StackFactory) -> RunningStack:
    return module_stacks(workers=1, api_keys=KEYS)


def test_without_a_valid_key_nothing_is_accepted(keyed: RunningStack) -> None:
    assert submit(keyed, None)["code"] == 401
    assert submit(keyed, "not-a-key-at-all-000000")["code"] == 401
    assert keyed.client.get(f"{Q}/active-jobs").status_code == 401


#: What answers without a key when keys are set (docs/operators/security.md says why).
OPEN = ["/", "/ui/app.js", "/health", "/ready", "/metrics", "/schema", "/schema/openapi.json",
        "/schema/swagger"]  # fmt: skip
#: A path of each kind that needs one.
KEYED = [f"{Q}/active-jobs", f"{Q}/jobs", f"{Q}/report-types", f"{Q}/status/x",
         f"{Q}/events/x", f"{Q}/jobs/x/webhook", f"{Q}/webhook-secret", f"{Q}/cache-stats",
         f"{Q}/download/x", f"{Q}/uploads/x"]  # fmt: skip


def test_only_the_paths_the_security_page_names_answer_without_a_key(
    keyed: RunningStack,
) -> None:
    for path in OPEN:
        assert keyed.client.get(path).status_code == 200, path
    assert keyed.client.options(f"{Q}/uploads").status_code == 204  # tus discovery
    for path in KEYED:
        method = keyed.client.head if path.endswith("/uploads/x") else keyed.client.get
        assert method(path).status_code == 401, path
    security = (ROOT / "docs" / "operators" / "security.md").read_text()
    for path in ("`/`", "`/ui/`", "`/health`", "`/ready`", "`/metrics`", "`/schema`"):
        assert path in security, path


def test_a_client_sees_only_its_own_jobs(keyed: RunningStack) -> None:
    # Given a job of the ERP's
    job = submit(keyed, ERP)
    assert job["code"] == 202
    url = f"{Q}/status/{job['jobId']}"
    own = keyed.client.get(url, headers={"X-API-Key": ERP})
    assert own.status_code == 200
    # Then another client gets 404 for it (not 403: it must not learn the job exists)
    assert keyed.client.get(url, headers={"X-API-Key": CRM}).status_code == 404
    # And an operator sees it
    assert keyed.client.get(url, headers={"X-API-Key": OPS}).status_code == 200
    # And only the owner and operators may download it
    done = keyed.wait_finished_as(str(job["jobId"]), ERP)
    download = done["downloadUrl"]
    assert keyed.client.get(download, headers={"X-API-Key": CRM}).status_code == 404
    assert keyed.client.get(download, headers={"X-API-Key": ERP}).status_code == 200


def test_active_jobs_and_cache_stats_follow_the_roles(keyed: RunningStack) -> None:
    submit(keyed, ERP, "F-active")
    crm_view = keyed.client.get(f"{Q}/active-jobs", headers={"X-API-Key": CRM}).json()
    assert all(job["userName"] != "erp" for job in crm_view["jobs"])
    assert keyed.client.get(f"{Q}/cache-stats", headers={"X-API-Key": CRM}).status_code == 403
    assert keyed.client.get(f"{Q}/cache-stats", headers={"X-API-Key": OPS}).status_code == 200


def test_submissions_past_the_per_minute_limit_get_429(make_stack: StackFactory) -> None:
    stack = make_stack(workers=1, submissions_per_minute=2)
    codes = [submit(stack, None, f"F-{n}")["code"] for n in range(3)]
    assert codes == [202, 202, 429]
    limited = stack.client.post(f"{Q}/queue-json", json={})
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60


def test_cors_is_closed_unless_origins_are_configured(make_stack: StackFactory) -> None:
    preflight = {"Origin": "https://erp.example.com", "Access-Control-Request-Method": "POST"}
    closed = make_stack(workers=1)
    answer = closed.client.options(f"{Q}/queue-json", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    opened = make_stack(workers=1, cors_origins="https://erp.example.com")
    answer = opened.client.options(f"{Q}/queue-json", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://erp.example.com"
    # A page of that origin may send a tus PATCH with its headers and read tus' answers
    tus_headers = "tus-resumable,upload-offset,upload-checksum,content-type,x-api-key"
    patch = opened.client.options(
        f"{Q}/uploads/some-id",
        headers={"Origin": "https://erp.example.com", "Access-Control-Request-Method": "PATCH",
                 "Access-Control-Request-Headers": tus_headers},
    )  # fmt: skip
    assert patch.status_code == 204, patch.text
    allowed = {h.strip().lower() for h in patch.headers["access-control-allow-headers"].split(",")}
    assert set(tus_headers.split(",")) | {"upload-length", "upload-metadata"} <= allowed
    answer = opened.client.head(
        f"{Q}/uploads/some-id",
        headers={"Origin": "https://erp.example.com", "Tus-Resumable": "1.0.0"},
    )
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"Location", "Upload-Offset", "Upload-Length", "Upload-Expires", "Upload-Job-Url",
            "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size"} <= exposed  # fmt: skip
