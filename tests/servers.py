"""Fresh, isolated resources on the real RabbitMQ and PostgreSQL of the machine.

Each test run gets its own RabbitMQ vhost and PostgreSQL database, dropped afterwards, so runs
never collide. When a server is not reachable the tests that need it fail loudly: CI starts
both servers before running (.ci/run).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_ADMIN_URL = os.environ.get("KIEMCHUNG_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBIT_HOST = "127.0.0.1"
RABBIT_PORT = 5672


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"kc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rabbitmqctl(*args: str) -> None:
    tool = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([tool, "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def fresh_vhost() -> Iterator[str]:
    """A new vhost, with the guest user allowed in it; yields the AMQP URL."""
    vhost = f"kc-test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)
