"""Hostile claim checks: drip servers, non-global addresses, malformed URLs, FIFOs (issue 10,
items 8-11)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.fetch import FetchPolicy, _is_public, fetch

LOCAL = "127.0.0.1"
EOFFICE = "eoffice.example"
DRIP_DEADLINE_SECONDS = 0.5
# The drip server sends one byte per this many seconds, forever: only an overall deadline ends it.
DRIP_INTERVAL_SECONDS = 0.05


@pytest.fixture
def drip_server() -> Iterator[int]:
    listener = socket.socket()
    listener.bind((LOCAL, 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(DRIP_INTERVAL_SECONDS):
                    try:
                        conn.sendall(b"%")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


async def test_a_dripping_server_is_cut_off_by_one_overall_deadline(drip_server: int) -> None:
    # Each byte arrives well within the per-read timeout; only a whole-fetch deadline ends it.
    policy = FetchPolicy(
        allowed_hosts=frozenset({LOCAL}),
        http_hosts=frozenset({LOCAL}),
        private_hosts=frozenset({LOCAL}),
        timeout_seconds=DRIP_DEADLINE_SECONDS,
    )
    with pytest.raises(FetchError) as caught:
        await asyncio.wait_for(fetch(f"http://{LOCAL}:{drip_server}/doc.pdf", policy=policy), 60)
    assert caught.value.reason is ReasonCode.FETCH_FAILED


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",
        "100.100.100.200",
        "100.127.255.254",
        "fec0::1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:100.100.100.200",
        "198.18.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "fe80::1%eth0",
        "not-an-address",
    ],
)
def test_non_global_addresses_are_not_public(address: str) -> None:
    assert not _is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_global_addresses_are_public(address: str) -> None:
    assert _is_public(address)


async def test_a_name_resolving_to_carrier_nat_is_refused() -> None:
    async def metadata(host: str, port: int) -> list[str]:
        return ["100.100.100.200"]

    policy = FetchPolicy(allowed_hosts=frozenset({EOFFICE}))
    with pytest.raises(FetchError) as caught:
        await fetch(f"https://{EOFFICE}/doc.pdf", policy=policy, resolve=metadata)
    assert caught.value.reason is ReasonCode.FETCH_FORBIDDEN


@pytest.mark.parametrize(
    "url",
    [
        f"https://{EOFFICE}:99999/doc.pdf",
        f"https://{EOFFICE}:abc/doc.pdf",
        f"https://{EOFFICE}:-1/doc.pdf",
        f"https://[{EOFFICE}/doc.pdf",
        f"https://{EOFFICE}/doc%00.pdf",
        "file:///tmp/edocs/a%00.pdf",
        "file:///tmp/edocs/a\x00.pdf",
        "https://" + "a" * 10000,
    ],
)
async def test_malformed_urls_get_a_fetch_verdict(url: str, tmp_path: Path) -> None:
    policy = FetchPolicy(allowed_hosts=frozenset({EOFFICE}), file_base_dir=Path("/tmp/edocs"))
    with pytest.raises(FetchError) as caught:
        await fetch(url, policy=policy)
    assert caught.value.reason in {ReasonCode.FETCH_FORBIDDEN, ReasonCode.FETCH_FAILED}


async def test_a_fifo_under_the_file_root_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "evil.pdf"
    os.mkfifo(fifo)
    policy = FetchPolicy(file_base_dir=tmp_path)
    with pytest.raises(FetchError) as caught:
        await asyncio.wait_for(fetch(f"file://{fifo}", policy=policy), 30)
    assert caught.value.reason is ReasonCode.FETCH_FORBIDDEN


async def test_a_regular_file_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7")
    assert await fetch(f"file://{tmp_path}/a.pdf", policy=FetchPolicy(file_base_dir=tmp_path)) == b"%PDF-1.7"
