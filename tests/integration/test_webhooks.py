"""Completion webhooks against a live stack and a real receiver on loopback: signed events
(checked with the Standard Webhooks library's own verifier), retries while the receiver is
down (across a restart of the webhook worker), the API keys' default callbacks and secrets,
and the refusals that keep callbacks off private addresses."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from reports_client import InvalidWebhook, ReportsClient, cli
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from devstack.stack import free_port
from tests.support.data import INVOICE
from tests.support.jobs import PLUGIN, demora_stack, submit
from tests.support.stacks import RunningStack, StackFactory, wait_until
from tests.support.webhooks import Delivery, Receiver

Q = "/api/AsyncReports"
ERP, CRM = "erp-key-0123456789abcdef", "crm-key-0123456789abcdef"
KEYS = f"client:erp:{ERP},client:crm:{CRM},operator:ops:ops-key-0123456789abcdef"
#: Attempts a second apart, so a test sees several of them.
QUICK_RETRIES = ",".join(["1"] * 30)


def queue_json(
    stack: RunningStack,
    records: list[dict[str, Any]],
    callback: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """POST /queue-json of FacturacionMasiva records; the answer with its status code."""
    body: dict[str, Any] = {"reportType": "FacturacionMasiva", "userName": "ana",
                            "jsonData": json.dumps(records)}  # fmt: skip
    if callback is not None:
        body["callbackUrl"] = callback
    headers = {"X-API-Key": key} if key else {}
    response = stack.client.post(f"{Q}/queue-json", json=body, headers=headers)
    return {**response.json(), "code": response.status_code}


def webhook(stack: RunningStack, job_id: str, key: str | None = None) -> dict[str, Any]:
    """GET /jobs/{jobId}/webhook (asserting 200)."""
    headers = {"X-API-Key": key} if key else {}
    response = stack.client.get(f"{Q}/jobs/{job_id}/webhook", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def secret_of(stack: RunningStack, key: str | None = None) -> str:
    headers = {"X-API-Key": key} if key else {}
    response = stack.client.get(f"{Q}/webhook-secret", headers=headers)
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


def wait_state(stack: RunningStack, job_id: str, state: str, timeout: float = 30) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        view = webhook(stack, job_id)
        return view if view["state"] == state else None

    found = wait_until(reached, timeout, 0.1, f"job {job_id}'s webhook to be {state}")
    assert isinstance(found, dict)
    return found


def test_a_completed_job_posts_one_signed_event_whose_link_downloads_the_report(
    make_stack: StackFactory,
) -> None:
    # Given a stack with a webhook worker, and a receiver on loopback (allowed here)
    stack = make_stack(workers=1, webhooks=True, webhook_allow_private_addresses="true")
    with Receiver() as receiver:
        # When a job names it as its callback
        job = queue_json(stack, [INVOICE, {**INVOICE, "invoiceNumber": "F-2"}], receiver.url())
        assert job["code"] == 202, job
        done = stack.wait_finished(job["jobId"])
        view = wait_state(stack, job["jobId"], "delivered")

        # Then one event arrived, signed: the library's verifier accepts it with the
        # secret the api gives the job's owner
        [delivery] = receiver.received()
        event = delivery.verified(secret_of(stack))
        assert delivery.path == "/hook"
        assert delivery.headers["webhook-id"] == f"msg_{job['jobId']}_completed"
        assert event["type"] == "report.completed"
        data = event["data"]
        assert data["jobId"] == job["jobId"] and data["status"] == "Completed"
        assert data["outcome"] == "Completed" and data["recordsProcessed"] == 2
        assert data["expiresAt"] and data["fileName"] == done["fileName"]
        assert data["statusUrl"] == f"{Q}/status/{job['jobId']}"
        # And its link downloads the report
        download = stack.client.get(data["downloadUrl"])
        assert download.status_code == 200
        assert download.content[:2] == b"PK" and len(download.content) == done["fileSizeBytes"]
        # And the owner sees the attempt
        assert view["callbackUrl"] == receiver.url() and view["event"] == "report.completed"
        [attempt] = view["attempts"]
        assert attempt["attempt"] == 1 and attempt["statusCode"] == 200
        assert attempt["error"] is None and view["nextAttemptAt"] is None
        # And a tampered body or another secret is refused by the same verifier
        with pytest.raises(WebhookVerificationError):
            Webhook(secret_of(stack)).verify(delivery.body + b" ", delivery.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(delivery.body, delivery.headers)
    latency = delivery.at - _epoch(data["completedAt"])
    print(f"webhook latency after completion: {latency * 1000:.0f} ms")


def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_back(
    make_stack: StackFactory,
) -> None:
    # Given a receiver's port with nothing listening on it yet
    stack = make_stack(
        workers=1,
        webhooks=True,
        webhook_allow_private_addresses="true",
        webhook_retry_schedule=QUICK_RETRIES,
    )
    receiver = Receiver(port=free_port())
    job = queue_json(stack, [INVOICE], receiver.url())
    assert stack.wait_finished(job["jobId"])["status"] == "Completed"

    # When attempts have failed for a while, and the webhook worker is killed meanwhile
    wait_until(lambda: len(webhook(stack, job["jobId"])["attempts"]) >= 2, 30, 0.2, "2 attempts")
    view = webhook(stack, job["jobId"])
    assert view["state"] == "pending" and view["nextAttemptAt"], view
    assert view["attempts"][0]["statusCode"] is None
    assert "Connection refused" in view["attempts"][0]["error"], view
    process = stack.supervisor.services["webhooks"].process
    assert process is not None
    os.killpg(process.pid, signal.SIGKILL)  # the supervisor starts it again
    wait_until(lambda: len(webhook(stack, job["jobId"])["attempts"]) >= 4, 60, 0.2, "4 attempts")

    # And then the receiver comes back
    receiver.start()
    try:
        view = wait_state(stack, job["jobId"], "delivered", timeout=60)
        time.sleep(2)  # no further attempt follows a delivery
        deliveries = receiver.received()
    finally:
        receiver.stop()

    # Then it got the event once, verifiable, and the owner sees every attempt
    assert len(deliveries) == 1, [d.headers["webhook-id"] for d in deliveries]
    event = deliveries[0].verified(secret_of(stack))
    assert event["data"]["jobId"] == job["jobId"] and event["type"] == "report.completed"
    codes = [attempt["statusCode"] for attempt in webhook(stack, job["jobId"])["attempts"]]
    assert codes[-1] == 200 and all(code is None for code in codes[:-1]), codes
    assert [a["attempt"] for a in view["attempts"]] == list(range(1, len(codes) + 1))
    assert stack.supervisor.services["webhooks"].restarts == 1


def test_a_receiver_erring_is_retried_until_it_accepts_and_410_gone_stops_the_attempts(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(
        workers=1,
        webhooks=True,
        webhook_allow_private_addresses="true",
        webhook_retry_schedule=QUICK_RETRIES,
    )
    with Receiver() as receiver:
        # Given a receiver that answers 500 twice, then 204; and one that answers 410
        def answer(delivery: Delivery) -> int:
            if delivery.path == "/gone":
                return 410
            tries = sum(1 for d in receiver.received() if d.path == "/hook")
            return 500 if tries <= 2 else 204

        receiver.answer = answer
        retried = queue_json(stack, [INVOICE], receiver.url("/hook"))
        gone = queue_json(stack, [{**INVOICE, "invoiceNumber": "F-9"}], receiver.url("/gone"))

        # Then the first is delivered at its third attempt, the same event each time
        view = wait_state(stack, retried["jobId"], "delivered")
        assert [a["statusCode"] for a in view["attempts"]] == [500, 500, 204]
        assert "HTTP 500" in view["attempts"][0]["error"]
        hooks = [d for d in receiver.received() if d.path == "/hook"]
        assert len({d.headers["webhook-id"] for d in hooks}) == 1 and len(hooks) == 3
        # And the second is given up after one attempt
        failed = wait_state(stack, gone["jobId"], "failed")
        assert [a["statusCode"] for a in failed["attempts"]] == [410]
        time.sleep(2)
        assert sum(1 for d in receiver.received() if d.path == "/gone") == 1


def test_failed_and_cancelled_jobs_post_their_own_events(
    make_stack: StackFactory, running_dir: Path
) -> None:
    stack = demora_stack(
        make_stack, running_dir, webhooks=True, webhook_allow_private_addresses="true"
    )
    with Receiver() as receiver:
        # Given a job that fails (not JSON) and one that is cancelled while it runs
        bad = stack.client.post(
            f"{Q}/queue-multipart",
            data={"reportType": "FacturacionMasiva", "userName": "ana"},
            files={"dataFile": ("d.json", b"[{not json", "application/json")},
        )
        assert bad.status_code == 202, bad.text
        # (callbackUrl after the file, as a form may send it)
        running = stack.client.post(
            f"{Q}/queue-multipart",
            files=[
                ("reportType", (None, "Demora")),
                ("userName", (None, "ana")),
                ("dataFile", ("d.json", json.dumps([{"sleep": 0.01}] * 3000), "application/json")),
                ("callbackUrl", (None, receiver.url("/cancelled"))),
            ],
        )
        assert running.status_code == 202, running.text
        running_id = running.json()["jobId"]
        wait_until((running_dir / running_id).exists, 30, what="the job to start")
        assert stack.client.delete(f"{Q}/jobs/{running_id}").status_code == 200
        # (the failing one's callback set afterwards would be refused: it came without one)
        assert webhook(stack, bad.json()["jobId"])["state"] == "none"

        # Then the cancelled one's event says so, in a shape the seed's clients know
        wait_state(stack, running_id, "delivered")
        [event] = [d.verified(secret_of(stack)) for d in receiver.received()]
        assert event["type"] == "report.cancelled"
        assert event["data"]["status"] == "Failed" and event["data"]["outcome"] == "Cancelled"
        assert event["data"]["downloadUrl"] is None

        failing = queue_json(stack, [{"invoiceNumber": "F-1"}], receiver.url("/failed"))
        wait_state(stack, failing["jobId"], "delivered")
        [failed] = [
            d.verified(secret_of(stack)) for d in receiver.received() if d.path == "/failed"
        ]
        assert failed["type"] == "report.failed" and failed["data"]["error"], failed
        assert failed["data"]["status"] == failed["data"]["outcome"] == "Failed"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hook", "local, privada o reservada"),
        ("http://localhost/hook", "local, privada o reservada"),
        ("http://10.1.2.3/hook", "local, privada o reservada"),
        ("http://192.168.0.10/hook", "local, privada o reservada"),
        ("http://169.254.169.254/latest/meta-data/", "local, privada o reservada"),
        ("http://[::1]:8080/hook", "local, privada o reservada"),
        ("http://[::ffff:127.0.0.1]/hook", "local, privada o reservada"),
        ("http://0.0.0.0/hook", "local, privada o reservada"),
        ("http://2130706433/hook", "(127.0.0.1), una dirección local"),
        ("http://0/hook", "(0.0.0.0), una dirección local"),
        ("http://0x7f.1/hook", "(127.0.0.1), una dirección local"),
        ("https://example.com/\x1b[2J\r\nhook", "caracteres de control"),
        ("ftp://example.com/hook", "http:// o https://"),
        ("file:///etc/passwd", "http:// o https://"),
        ("https://user:secret@example.com/hook", "usuario ni contraseña"),
        ("https://example.com:99999/hook", "no es una URL válida"),
        ("https:///hook", "no tiene servidor"),
        ("https://example.com/" + "a" * 2100, "supera 2048"),
    ],
)
def test_callbacks_to_private_addresses_and_odd_urls_are_refused_at_submission(
    url: str, says: str, module_stack: RunningStack
) -> None:
    before = len(module_stack.redis().keys(f"{module_stack.namespace}:job:*"))
    answer = queue_json(module_stack, [INVOICE], url)
    assert answer["code"] == 400, answer
    assert says in answer["detail"] and "callbackUrl" in answer["detail"], answer
    assert "secret" not in answer["detail"]
    form = module_stack.client.post(
        f"{Q}/queue-multipart",
        data={"reportType": "FacturacionMasiva", "userName": "ana", "callbackUrl": url},
        files={"dataFile": ("d.json", json.dumps([INVOICE]).encode(), "application/json")},
    )
    assert form.status_code == 400 and says in form.json()["detail"], form.text
    # Nothing was recorded
    assert len(module_stack.redis().keys(f"{module_stack.namespace}:job:*")) == before


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    make_stack: StackFactory,
) -> None:
    # Given a host name that resolves to loopback here (the machine's own name)
    name = socket.gethostname()
    if not any(str(info[4][0]).startswith("127.") for info in socket.getaddrinfo(name, 80)):
        pytest.skip(f"{name} does not resolve to loopback on this machine")
    stack = make_stack(workers=1, webhooks=True)
    with Receiver() as receiver:
        # When a job's callback names it: accepted (a name is judged when it is called)
        job = queue_json(stack, [INVOICE], receiver.url(host=name))
        assert job["code"] == 202, job

        # Then the attempt is refused without connecting, and not tried again
        view = wait_state(stack, job["jobId"], "failed")
        [attempt] = view["attempts"]
        assert attempt["statusCode"] is None and "127.0.0.1" in attempt["error"], attempt
        assert "privada" in attempt["error"]
        assert receiver.received() == []


def test_a_key_default_callback_and_each_key_its_own_secret(make_stack: StackFactory) -> None:
    with Receiver() as receiver:
        # Given the ERP's key with a default callback
        stack = make_stack(
            workers=1,
            webhooks=True,
            api_keys=KEYS,
            webhook_allow_private_addresses="true",
            webhook_defaults=f"erp={receiver.url('/erp')}",
        )
        # When the ERP sends a job without a callback, and the CRM one with its own
        erp = queue_json(stack, [INVOICE], key=ERP)
        crm = queue_json(stack, [INVOICE], receiver.url("/crm"), key=CRM)
        wait_until(lambda: len(receiver.received()) == 2, 30, 0.1, "both events")

        # Then each went where it should, signed with its key's secret and no other
        by_path = {d.path: d for d in receiver.received()}
        erp_secret, crm_secret = secret_of(stack, ERP), secret_of(stack, CRM)
        assert erp_secret != crm_secret
        assert by_path["/erp"].verified(erp_secret)["data"]["jobId"] == erp["jobId"]
        assert by_path["/crm"].verified(crm_secret)["data"]["jobId"] == crm["jobId"]
        with pytest.raises(WebhookVerificationError):
            by_path["/erp"].verified(crm_secret)
        # And a key sees its own job's webhook, not another's
        assert webhook(stack, erp["jobId"], ERP)["callbackUrl"] == receiver.url("/erp")
        other = stack.client.get(f"{Q}/jobs/{erp['jobId']}/webhook", headers={"X-API-Key": CRM})
        assert other.status_code == 404


def test_a_job_without_a_callback_has_no_webhook(make_stack: StackFactory) -> None:
    stack = make_stack(workers=1, extra_env={"AR_REPORT_PLUGINS": PLUGIN})
    job = submit(stack, [{"sleep": 0}])
    stack.wait_finished(job)
    none: dict[str, Any] = {"callbackUrl": None, "state": "none", "event": None, "attempts": []}
    assert webhook(stack, job) == {"jobId": job, **none, "nextAttemptAt": None}
    assert stack.client.get(f"{Q}/jobs/nope/webhook").status_code == 404


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def test_the_python_client_asks_for_a_webhook_verifies_it_and_shows_its_attempts(
    make_stack: StackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = make_stack(workers=1, webhooks=True, webhook_allow_private_addresses="true")
    with Receiver() as receiver, ReportsClient(stack.url) as client:
        # Given a job submitted through the client with a callback
        submission = client.submit_records([INVOICE], "FacturacionMasiva", "ana",
                                           callback_url=receiver.url())  # fmt: skip
        wait_until(receiver.received, 30, 0.1, "the event")
        [delivery] = receiver.received()

        # Then the client verifies the event and reads the job in it
        event = client.verify_webhook(delivery.body, delivery.headers)
        assert event.type == "report.completed" and event.id == delivery.headers["webhook-id"]
        assert event.job.job_id == submission.job_id and event.job.outcome == "Completed"
        assert event.job.download_url and event.job.file_size_bytes
        # And refuses a forged one
        with pytest.raises(InvalidWebhook):
            client.verify_webhook(delivery.body.replace(b"Completed", b"Failed"), delivery.headers)
        with pytest.raises(InvalidWebhook):
            client.verify_webhook(delivery.body, {**delivery.headers, "webhook-signature": "v1,x"})
        # And shows the delivery
        hook = wait_until(lambda: client.webhook(submission.job_id).state == "delivered", 10)
        assert hook
        assert client.webhook(submission.job_id).attempts[0]["statusCode"] == 200
        # And the CLI prints it
        capsys.readouterr()
        assert cli.main(["--url", stack.url, "webhook", submission.job_id]) == 0
        text = capsys.readouterr().out
        assert "entregado" in text and "intento 1" in text and "HTTP 200" in text, text
