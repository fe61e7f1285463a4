"""The janitor and the workers expose Prometheus metrics when asked to."""

from __future__ import annotations

import httpx

from devstack.stack import free_port
from tests.support.stacks import StackFactory, wait_until


def test_janitor_and_worker_metrics_are_served(make_stack: StackFactory) -> None:
    janitor_port, worker_port = free_port(), free_port()
    stack = make_stack(
        workers=1, janitor_metrics_port=janitor_port, worker_metrics_port=worker_port
    )
    job = stack.client.post(
        "/api/AsyncReports/queue-json",
        json={"reportType": "Tabular", "userName": "ops", "jsonData": '[{"a": 1}]'},
    ).json()["jobId"]
    assert stack.wait_finished(job)["status"] == "Completed"

    def scraped(port: int, name: str) -> bool:
        try:
            return name in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        except httpx.TransportError:
            return False

    wait_until(lambda: scraped(janitor_port, 'async_reports_janitor_sweeps_total{outcome="ok"}'),
               20, what="janitor metrics")  # fmt: skip
    wait_until(lambda: scraped(worker_port, "dramatiq_messages_total"), 20, what="worker metrics")
