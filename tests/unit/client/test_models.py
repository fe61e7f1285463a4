"""What the client makes of the service's JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from reports_client import Job, JobStatus

STATUS = {
    "jobId": "6f1c", "status": "Completed", "message": "Reporte generado exitosamente",
    "createdAt": "2026-11-27T22:01:16.123000Z", "completedAt": "2026-11-27T22:01:19Z",
    "fileName": "reporte.zip", "fileSizeBytes": 8123, "downloadUrl": "/api/AsyncReports/download/t",
    "performanceMetrics": {"processingTimeMs": 120, "memoryUsageMB": 80.5, "recordsProcessed": 2},
    "reportType": "FacturacionMasiva", "userName": "ana@empresa.com",
    "progress": {"recordsProcessed": 2, "bytesProcessed": 900, "totalBytes": 900, "percent": 100.0},
    "queuePosition": None, "recordsRejected": 0, "error": None, "expiresAt": None,
}  # fmt: skip


def test_a_completed_status_reads_whole() -> None:
    job = Job.from_json(STATUS)
    assert job.status == JobStatus.COMPLETED and job.finished
    assert job.created_at == datetime(2026, 11, 27, 22, 1, 16, 123000, tzinfo=UTC)
    assert job.records_processed == 2
    assert job.file_size_bytes == 8123
    assert job.download_url == "/api/AsyncReports/download/t"
    assert job.percent == 100.0


def test_fields_added_later_are_kept_aside_and_a_new_status_is_kept_as_is() -> None:
    job = Job.from_json({**STATUS, "status": "Paused", "priority": "alta"})
    assert job.status == "Paused" and not job.finished
    assert job.raw["priority"] == "alta"


def test_a_queued_status_shows_its_place_and_no_progress() -> None:
    job = Job.from_json({"jobId": "q", "status": "Queued", "message": "Trabajo en cola",
                         "createdAt": "2026-11-27T22:01:16Z", "queuePosition": 3})  # fmt: skip
    assert job.queue_position == 3
    assert job.percent == 0.0 and job.progress.records_processed == 0
    assert not job.finished
