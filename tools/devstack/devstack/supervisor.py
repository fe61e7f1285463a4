"""Runs service processes: restarts one that dies, prefixes its log lines, stops them all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Service:
    """One supervised process."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0


class Supervisor:
    """Start, watch and stop a set of services."""

    def __init__(
        self,
        services: list[Service],
        out: TextIO | None = None,
        restart: bool = True,
        on_line: Callable[[str, str], None] | None = None,
    ) -> None:
        self.services = {service.name: service for service in services}
        self.out = out or sys.stdout
        self.restart = restart
        self.on_line = on_line
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        """Start every service and the watcher."""
        for service in self.services.values():
            self._spawn(service)
        self._monitor.start()

    def _spawn(self, service: Service) -> None:
        env = {**os.environ, **service.env, "PYTHONUNBUFFERED": "1"}
        service.process = subprocess.Popen(
            service.argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches its children
        )
        threading.Thread(
            target=self._pump, args=(service.name, service.process), daemon=True
        ).start()

    def _pump(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        width = max(len(n) for n in self.services)
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            with self._lock:
                self.out.write(f"{name:<{width}} | {line}\n")
                self.out.flush()
            if self.on_line is not None:
                self.on_line(name, line)

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for service in self.services.values():
                process = service.process
                if process is None or process.poll() is None or self._stopping.is_set():
                    continue
                if not self.restart:
                    continue
                service.restarts += 1
                with self._lock:
                    self.out.write(
                        f"{service.name} exited with {process.returncode}; restarting "
                        f"(restart #{service.restarts})\n"
                    )
                time.sleep(min(5.0, 0.5 * service.restarts))
                if not self._stopping.is_set():
                    self._spawn(service)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left after ``timeout``."""
        self._stopping.set()
        running = [s.process for s in self.services.values() if s.process is not None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()

    def wait(self) -> None:
        """Block until stop() is called (by a signal handler)."""
        while not self._stopping.wait(1.0):
            pass


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
