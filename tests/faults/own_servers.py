"""A RabbitMQ node and a PostgreSQL cluster of the test's own, on spare ports, to stop and start.

The machine's shared servers (5672, 5432) are never touched: faults are injected only here.
RabbitMQ runs from its package's scripts directory (the /usr/sbin wrapper switches user) with
its own node name, ports, data and log directories, configuration and no plugins. PostgreSQL is
a fresh `initdb` cluster run by the postgres user (it refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path


def _newest(pattern: str) -> Path | None:
    found = sorted(glob.glob(pattern))
    return Path(found[-1]) if found else None


PG_BIN = _newest("/usr/lib/postgresql/*/bin")
RABBIT_SBIN = _newest("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin")
START_SECONDS = 90.0
STOP_SECONDS = 60.0
POLL_SECONDS = 0.2


def available() -> str | None:
    """Why the own servers cannot run here, or None."""
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        return "PostgreSQL server binaries are not installed"
    if RABBIT_SBIN is None:
        return "the RabbitMQ server package is not installed"
    if shutil.which("runuser") is None or os.geteuid() != 0:
        return "needs root and runuser to run PostgreSQL as the postgres user"
    return None


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(POLL_SECONDS)
    raise TimeoutError(what)


@dataclass
class OwnPostgres:
    root: Path
    port: int = field(default_factory=spare_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        assert PG_BIN is not None
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            timeout=START_SECONDS,
        )

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop_immediately(self) -> None:
        """A crash as far as clients can tell: connections are cut, nothing shuts down cleanly."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self.stop_immediately()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class OwnRabbit:
    root: Path
    port: int = field(default_factory=spare_port)
    dist_port: int = field(default_factory=spare_port)
    name: str = field(default_factory=lambda: f"kcfault{uuid.uuid4().hex[:8]}@localhost")
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "rabbitmq.conf"
        conf.write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users.guest = true\n")
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_CONFIG_FILE": str(conf.with_suffix("")),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self) -> None:
        assert RABBIT_SBIN is not None
        env = self._env()
        log = open(self.root / "server.out", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(RABBIT_SBIN / "rabbitmq-server")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _wait(lambda: port_open(self.port), START_SECONDS, f"RabbitMQ {self.name} did not open {self.port}")
        subprocess.run(
            [str(RABBIT_SBIN / "rabbitmqctl"), "-n", self.name, "await_startup", "--timeout", "60"],
            env=self._env(),
            check=True,
            capture_output=True,
            timeout=START_SECONDS,
        )

    def stop(self) -> None:
        """Stop the node (its durable queues and persistent messages stay on disk)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)
        self.process = None
        _wait(lambda: not port_open(self.port), STOP_SECONDS, "RabbitMQ port still open")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
