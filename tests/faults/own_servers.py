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
import random
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
# A start that fails (pg_ctl's wait ran out while crash recovery crawled on a loaded machine) is
# retried: the server may still be coming up, or a second start succeeds.
START_ATTEMPTS = 3
READY_PROBE_SECONDS = 5
LOG_TAIL_CHARS = 2000
# Listening ports are taken below the kernel's ephemeral range: any client connection on the
# machine (other engineers' tests, our own workers) can be given an ephemeral port, and one given
# ours between a stop and the restart would make the restarted server's bind fail.
LISTEN_PORT_FLOOR = 20000
PORT_TRIES = 500
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_ports = random.SystemRandom()


def available() -> str | None:
    """Why the own servers cannot run here, or None."""
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        return "PostgreSQL server binaries are not installed"
    if RABBIT_SBIN is None:
        return "the RabbitMQ server package is not installed"
    if shutil.which("runuser") is None or os.geteuid() != 0:
        return "needs root and runuser to run PostgreSQL as the postgres user"
    return None


def _ephemeral_floor() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def spare_port() -> int:
    """A free port outside the ephemeral range, so it stays free across a server's restarts."""
    ceiling = _ephemeral_floor()
    if ceiling > LISTEN_PORT_FLOOR:
        for _ in range(PORT_TRIES):
            port = _ports.randrange(LISTEN_PORT_FLOOR, ceiling)
            if _bindable(port):
                return port
    with socket.socket() as sock:  # no room below the range: any free port
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


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


class PostgresError(RuntimeError):
    """A PostgreSQL tool failed; the message carries its output (or the server log's tail)."""


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

    def _as_postgres(self, *args: str, timeout: float = START_SECONDS) -> None:
        assert PG_BIN is not None
        try:
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(PG_BIN / args[0]), *args[1:]],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.CalledProcessError as exc:
            output = ((exc.stdout or b"") + (exc.stderr or b"")).decode(errors="replace")
            raise PostgresError(f"{args[0]} exited {exc.returncode}: {output}") from exc
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"{args[0]} did not finish in {timeout:.0f} s") from exc

    def _running(self) -> bool:
        try:
            self._as_postgres("pg_ctl", "-D", str(self.data), "status", timeout=STOP_SECONDS)
        except PostgresError:
            return False  # exit 3: no server running (4: no data directory)
        return True

    def _accepting(self) -> bool:
        assert PG_BIN is not None
        probe = subprocess.run(
            [
                str(PG_BIN / "pg_isready"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("-t", str(READY_PROBE_SECONDS)),
            ],
            capture_output=True,
            timeout=READY_PROBE_SECONDS * 4,
            check=False,
        )
        return probe.returncode == 0

    def _log_tail(self) -> str:
        try:
            return (self.root / "log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return ""

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def start(self) -> None:
        """Start the server and return once it accepts connections.

        `pg_ctl -w` gives up after its own timeout while the server may still be recovering
        (after an immediate stop, on a loaded machine): readiness is then awaited on its own, and
        a server that is not running at all is started again, up to START_ATTEMPTS times."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        failures: list[str] = []
        for _ in range(START_ATTEMPTS):
            if not self._running():
                try:
                    self._as_postgres(
                        *("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log")),
                        *("-w", "-t", str(int(START_SECONDS)), "start"),
                        timeout=START_SECONDS + STOP_SECONDS,
                    )
                except PostgresError as exc:
                    failures.append(str(exc))
            with contextlib.suppress(TimeoutError):
                _wait(self._accepting, START_SECONDS, "PostgreSQL not accepting connections")
                return
            failures.append(f"not accepting connections on {self.port} after {START_SECONDS:.0f} s")
        raise PostgresError(
            f"PostgreSQL did not start after {START_ATTEMPTS} attempts: {failures}\n"
            f"server log tail:\n{self._log_tail()}"
        )

    def stop_immediately(self) -> None:
        """A crash as far as clients can tell: connections are cut, nothing shuts down cleanly."""
        self._as_postgres(
            *("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", str(int(STOP_SECONDS)), "stop"),
            timeout=STOP_SECONDS + START_SECONDS,
        )

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresError):
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
