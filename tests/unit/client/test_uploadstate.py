"""The state file where the client remembers unfinished tus uploads across restarts."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from reports_client.uploadstate import (
    KEEP_SECONDS,
    RememberedUpload,
    UploadStates,
    default_path,
    upload_key,
)

SERVICE = "http://127.0.0.1:8000"
FIELDS = {"reportType": "FacturacionMasiva", "userName": "ana@empresa.com"}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "facturas.json"
    path.write_bytes(b"[" + b"{}," * 1000 + b"{}]")
    return path


def remembered(url: str = "http://127.0.0.1:8000/api/AsyncReports/uploads/u1") -> RememberedUpload:
    return RememberedUpload(url, "clave-1", "/datos/facturas.json")


def test_the_state_lives_under_xdg_state_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "estado"))
    assert default_path() == tmp_path / "estado" / "async-reports" / "uploads.json"


@pytest.mark.parametrize("value", ["", "relativo/estado"])
def test_without_an_absolute_xdg_state_home_it_is_under_local_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", value)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "state" / "async-reports" / "uploads.json"


def test_an_upload_is_remembered_found_again_and_forgotten(tmp_path: Path, dataset: Path) -> None:
    # Given an upload remembered by one process
    path = tmp_path / "estado" / "uploads.json"
    key = upload_key(dataset, SERVICE, FIELDS)
    UploadStates(path).put(key, remembered())
    # When another process looks for the same file's upload
    found = UploadStates(path).get(key)
    # Then it finds where it lives and its Idempotency-Key
    assert found is not None
    assert (found.url, found.idempotency_key) == (remembered().url, "clave-1")
    assert json.loads(path.read_text())[key]["url"] == remembered().url
    # And once forgotten, it is not there any more
    UploadStates(path).remove(key)
    assert UploadStates(path).get(key) is None
    assert json.loads(path.read_text()) == {}


def test_the_same_file_by_another_path_has_the_same_key(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dataset.parent)
    assert upload_key(Path(dataset.name), SERVICE, FIELDS) == upload_key(dataset, SERVICE, FIELDS)


def test_a_changed_file_another_service_or_other_fields_find_no_upload(dataset: Path) -> None:
    key = upload_key(dataset, SERVICE, FIELDS)
    assert upload_key(dataset, "http://otro:8000", FIELDS) != key
    assert upload_key(dataset, SERVICE, {**FIELDS, "userName": "luis"}) != key
    assert upload_key(dataset, SERVICE, {**FIELDS, "csvDialect": "excel-es"}) != key
    stat = dataset.stat()
    os.utime(dataset, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert upload_key(dataset, SERVICE, FIELDS) != key  # modified since
    moved = dataset.rename(dataset.with_name("otro.json"))
    assert upload_key(moved, SERVICE, FIELDS) != key


def test_a_missing_or_damaged_file_is_an_empty_one_and_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "uploads.json"
    assert UploadStates(path).get("k") is None  # not there yet
    path.write_text('{"k": {"url": ')  # cut short
    assert UploadStates(path).get("k") is None
    UploadStates(path).put("k", remembered())
    assert UploadStates(path).get("k") == UploadStates(path).get("k") is not None


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    # Given a state file
    path = tmp_path / "uploads.json"
    states = UploadStates(path)
    states.put("a", remembered())
    before = path.stat().st_ino
    # When another entry is written
    states.put("b", remembered("http://127.0.0.1:8000/api/AsyncReports/uploads/u2"))
    # Then a new file was renamed into place (a reader never sees half of one)
    assert path.stat().st_ino != before
    assert sorted(json.loads(path.read_text())) == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uploads.json", "uploads.json.lock"]


def test_entries_older_than_a_week_are_dropped_on_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "uploads.json"
    old = RememberedUpload("http://x/u/viejo", "k", "", time.time() - KEEP_SECONDS - 60)
    UploadStates(path).put("viejo", old)
    UploadStates(path).put("nuevo", remembered())
    assert sorted(json.loads(path.read_text())) == ["nuevo"]


def test_writers_at_once_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "uploads.json"

    def write(n: int) -> None:
        UploadStates(path).put(f"k{n}", remembered(f"http://x/uploads/{n}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(json.loads(path.read_text())) == 20
