"""Dependencies a test owns and may stop and start again: S3 storage, Redis, RabbitMQ.

Each runs on free loopback ports with its data in the test's own folder, so stopping it is
an outage of one stack only: the shared RabbitMQ (5672), the shared Redis (6379) and other
tests' S3 servers are never touched. ``stopped()`` takes one down for the ``with`` block
and always brings it back on the same data, so a failing test still tears down cleanly.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis

from devstack.infra import port_open
from devstack.s3server import S3Server, start_s3
from devstack.stack import bindable, free_port
from tests.support.infra import s3_port_base, unavailable

#: Longest wait for a service to start or stop (bounded, never forever).
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def _wait_closed(port: int, timeout: float, what: str) -> None:
    """Until nothing accepts connections on ``port`` (the outage has begun)."""
    deadline = time.monotonic() + timeout
    while port_open("127.0.0.1", port, timeout=0.2):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} still answers on port {port} after {timeout:.0f} s")
        time.sleep(0.1)


def _end(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    """Signal a process we started and reap it (SIGKILL if it does not go in time)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


class Restartable:
    """A dependency a test owns, which it may stop and start again."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The dependency is down inside the block, and started again (same data) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()


class OwnS3(Restartable):
    """A SeaweedFS S3 server of the test's own; restarted on the same data and ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.access_key = "fault-" + secrets.token_hex(4)
        self.secret_key = secrets.token_urlsafe(24)
        self.port = s3_port_base()
        self.server: S3Server | None = None

    @property
    def endpoint(self) -> str:
        """host:port of its S3 API."""
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Settings that point a stack at this server."""
        return {
            "AR_S3_ENDPOINT": self.endpoint,
            "AR_S3_ACCESS_KEY": self.access_key,
            "AR_S3_SECRET_KEY": self.secret_key,
        }

    def start(self) -> None:
        """Start it (again, on the data of earlier runs); return once S3 answers."""
        try:
            self.server = start_s3(
                self.folder, self.access_key, self.secret_key, port_base=self.port,
                log_file=self.folder / "weed.log", data_dir=self.folder / "data",
            )  # fmt: skip
        except RuntimeError as exc:
            unavailable(f"could not start a test-owned S3 server: {exc}")

    def stop(self) -> None:
        """Stop it; return once its S3 port refuses connections."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        _wait_closed(self.port, STOP_TIMEOUT, "the S3 server")

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Storage hangs inside the block: its process is stopped (SIGSTOP), so connections
        are still accepted (by the kernel) but nothing answers; it goes on (SIGCONT) after."""
        assert self.server is not None, "start it first"
        process = self.server.process
        process.send_signal(signal.SIGSTOP)
        try:
            _wait_stopped(process.pid)
            yield
        finally:
            process.send_signal(signal.SIGCONT)


def _wait_stopped(pid: int, timeout: float = 10.0) -> None:
    """Return once every thread of ``pid`` is stopped (one in a system call stops as it
    returns from it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        threads = psutil.Process(pid).threads()
        if all(psutil.Process(t.id).status() == psutil.STATUS_STOPPED for t in threads):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not stop within {timeout:.0f} s")


class OwnRedis(Restartable):
    """A redis-server of the test's own on a free port; its data dir survives restarts."""

    def __init__(self, folder: Path, appendonly: bool = True) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed: cannot run a test-owned Redis")
        assert binary is not None
        self.binary = binary
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again, reading its append-only file); return once it answers PING."""
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log"),
            "--save", "", "--appendonly", "yes" if self.appendonly else "no",
            "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                if self.process.poll() is not None:
                    error = self.process.stderr.read() if self.process.stderr else b""
                    unavailable(f"redis-server exited at start: {error.decode(errors='replace')}")
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    _end(self.process, signal.SIGKILL)
                    unavailable(f"redis-server did not answer within {START_TIMEOUT:.0f} s")
                time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM: the append-only file is flushed)."""
        if self.process is not None:
            _end(self.process)
            self.process = None
        _wait_closed(self.port, STOP_TIMEOUT, "Redis")


def _rabbitmq_script(name: str) -> str | None:
    """A RabbitMQ script that runs as the current user.

    Debian's /usr/sbin wrappers switch to the rabbitmq user when called by root, and that
    user cannot reach a test's private folder: the scripts behind them need no switch.
    """
    behind = Path("/usr/lib/rabbitmq/bin") / name
    return str(behind) if behind.exists() else shutil.which(name)


def _rabbitmq_port_base() -> int:
    """Ten free ports: AMQP on base, Erlang distribution on base+1, CLI tools on base+2..9.

    Below the ephemeral range (it was 40000-45000: a port of it free when chosen became the
    local end of an outgoing connection, and the node failed on "eaddrinuse", CI), above the
    test S3 servers' (20000-22705) and away from 35672-35682, where RabbitMQ's CLI tools
    listen by default.
    """
    rng = random.Random()
    for _ in range(50):
        base = rng.randrange(23_000, 28_000, 10)
        if all(bindable(base + i) for i in range(10)):
            return base
    raise RuntimeError("no free ports for a test RabbitMQ node")


class OwnRabbitMQ(Restartable):
    """A RabbitMQ node of the test's own: its name, ports, database, logs and cookie."""

    def __init__(self, folder: Path) -> None:
        server, ctl = _rabbitmq_script("rabbitmq-server"), _rabbitmq_script("rabbitmqctl")
        if server is None or ctl is None:
            unavailable("rabbitmq-server is not installed: cannot run a test-owned node")
        assert server is not None and ctl is not None
        self.server, self.ctl = server, ctl
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.node = f"faults{secrets.token_hex(3)}@localhost"
        self.port = _rabbitmq_port_base()
        self.pid_file = folder / "node.pid"
        (folder / "enabled_plugins").write_text("[].\n")  # no management plugin, no port clash
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "consumer_timeout = 7200000\n"  # long jobs, as the local stack runner sets
        )
        (folder / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's node name
        self.env = {
            **os.environ,
            "HOME": str(folder),  # its own Erlang cookie, shared by the server and rabbitmqctl
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.port + 1),
            "RABBITMQ_CTL_DIST_PORT_MIN": str(self.port + 2),
            "RABBITMQ_CTL_DIST_PORT_MAX": str(self.port + 9),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @property
    def url(self) -> str:
        """Its AMQP URL (guest may log in over loopback)."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _ctl(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.ctl, "-n", self.node, *args],
            env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def start(self) -> None:
        """Start the node (again, on its database); return once it takes connections."""
        self.pid_file.unlink(missing_ok=True)
        started = subprocess.run(
            [self.server, "-detached"], env=self.env, cwd=self.folder,
            capture_output=True, text=True, timeout=START_TIMEOUT, check=False,
        )  # fmt: skip
        if started.returncode != 0:
            unavailable(f"rabbitmq-server -detached failed: {started.stderr.strip()}")
        waited = self._ctl(
            "wait", "--timeout", str(int(START_TIMEOUT)), str(self.pid_file),
            timeout=START_TIMEOUT + 10,
        )  # fmt: skip
        if waited.returncode != 0 or not port_open("127.0.0.1", self.port):
            self._kill()
            unavailable(
                f"a test-owned RabbitMQ node did not start (see {self.folder / 'log'}): "
                f"{waited.stdout.strip()} {waited.stderr.strip()}"
            )

    def stop(self) -> None:
        """Stop the node as an operator would; return once its process is gone."""
        if self.pid_file.exists():
            self._ctl("stop", str(self.pid_file), timeout=STOP_TIMEOUT)
            self._kill()
        _wait_closed(self.port, STOP_TIMEOUT, "RabbitMQ")

    def _kill(self) -> None:
        """SIGKILL the node's process if it is still there (the pid it wrote, if it is ours)."""
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            process = psutil.Process(int(self.pid_file.read_text().strip()))
            if self.node in " ".join(process.cmdline()):
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
