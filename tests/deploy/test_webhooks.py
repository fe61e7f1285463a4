"""Completion webhooks from the webhooks container to a receiver on the host."""

from __future__ import annotations

import ipaddress
import json

from tests.deploy.stack import Q, Stack, wait_until
from tests.support.webhooks import Receiver


def test_the_webhooks_container_posts_a_signed_event_whose_link_downloads_the_report(
    stack: Stack,
) -> None:
    # Given a receiver on the host, which containers reach at their network's gateway
    gateway = ipaddress.ip_network(stack.settings["AR_CONTAINERS_SUBNET"])[1]
    with Receiver(bind="0.0.0.0") as receiver:
        # When a job sent to the api container names it as its callback
        body = {"reportType": "Demora", "userName": "ct", "jsonData": json.dumps([{"sleep": 0}]),
                "callbackUrl": receiver.url(host=str(gateway))}  # fmt: skip
        answer = stack.client.post(f"{Q}/queue-json", json=body)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["jobId"]
        assert stack.wait_finished(job_id)["status"] == "Completed"
        wait_until(receiver.received, 60, what="the webhook to arrive")

    # Then one event came, signed with the secret the api container gives, and its link
    # downloads the report from the api container
    [delivery] = receiver.received()
    secret = stack.client.get(f"{Q}/webhook-secret").json()["secret"]
    event = delivery.verified(secret)
    assert event["type"] == "report.completed" and event["data"]["jobId"] == job_id
    assert stack.client.get(event["data"]["downloadUrl"]).content[:2] == b"PK"
    view = stack.client.get(f"{Q}/jobs/{job_id}/webhook").json()
    assert view["state"] == "delivered" and view["attempts"][0]["statusCode"] == 200
