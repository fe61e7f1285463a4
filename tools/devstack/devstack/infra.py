"""RabbitMQ and Redis: check they answer, start them where installed but down."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_redis(port: int = 6379) -> str:
    """Redis answers on 127.0.0.1:port, started if needed; what was done."""
    if port_open("127.0.0.1", port):
        return "redis: running"
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError(
            "Redis is not running and redis-server is not installed: "
            "apt-get install redis-server (or point AR_REDIS_URL at a Redis)"
        )
    subprocess.run(
        [server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no"],
        check=True,
    )  # fmt: skip
    _wait_port(port, 20, "Redis")
    return "redis: started"


def ensure_rabbitmq(port: int = 5672) -> str:
    """RabbitMQ answers on 127.0.0.1:port, started if needed; what was done."""
    if port_open("127.0.0.1", port):
        return "rabbitmq: running"
    server = shutil.which("rabbitmq-server")
    if server is None:
        raise RuntimeError(
            "RabbitMQ is not running and rabbitmq-server is not installed: "
            "apt-get install rabbitmq-server (or point AR_AMQP_URL at a RabbitMQ)"
        )
    subprocess.run([server, "-detached"], check=True)
    _wait_port(port, 90, "RabbitMQ")
    return "rabbitmq: started"


def raise_consumer_timeout(milliseconds: int = 7_200_000) -> bool:
    """Let deliveries stay unacked for hours (long jobs) on a local RabbitMQ; True if done."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    expr = f"application:set_env(rabbit, consumer_timeout, {milliseconds})."
    result = subprocess.run([ctl, "eval", expr], capture_output=True, check=False, timeout=30)
    return result.returncode == 0


def _wait_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not come up on port {port} within {timeout:.0f} s")


def main() -> None:
    """``python -m devstack.infra``: make sure Redis and RabbitMQ run locally."""
    print(ensure_redis(), flush=True)
    print(ensure_rabbitmq(), flush=True)
    if raise_consumer_timeout():
        print("rabbitmq: consumer_timeout raised to 2 h", flush=True)


if __name__ == "__main__":
    main()
