"""Claim-check fetching of evidence PDFs from the e-office system.

Only allow-listed hosts, https unless a host is configured for http, no redirect to another
host, no private or loopback address unless the host is allow-listed for it, a size cap while
streaming, and the expected SHA-256 checked. `file://` paths are served only under a configured
base directory (the embedded runtime, where e-office and kiemchung share a disk).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.limits import DEFAULT_MAX_BYTES

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTTP_OK = 200


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    http_hosts: frozenset[str] = frozenset()  # allowed over plain http (inside a trusted network)
    private_hosts: frozenset[str] = frozenset()  # may resolve to private/loopback addresses
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    file_base_dir: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _forbidden(message: str) -> FetchError:
    return FetchError(ReasonCode.FETCH_FORBIDDEN, message)


def check_hash(data: bytes, expected_sha256: str | None) -> None:
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256.lower():
        raise FetchError(ReasonCode.HASH_MISMATCH, "sha256 of the fetched file differs")


def _check_url(url: str, policy: FetchPolicy) -> str:
    """Return the host after checking scheme and allow-list (no DNS yet)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http"):
        raise _forbidden(f"scheme not allowed: {parts.scheme!r}")
    if host not in policy.allowed_hosts:
        raise _forbidden(f"host not allowed: {host!r}")
    if parts.scheme == "http" and host not in policy.http_hosts:
        raise _forbidden(f"plain http not allowed for {host!r}")
    if parts.username or parts.password:
        raise _forbidden("credentials in URLs are not allowed")
    return host


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def _check_addresses(host: str, port: int, policy: FetchPolicy) -> None:
    if host in policy.private_hosts:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(ReasonCode.FETCH_FAILED, f"cannot resolve {host!r}: {exc}") from exc
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise _forbidden(f"{host!r} resolves to a private or loopback address")


def _read_file(url: str, policy: FetchPolicy, expected_sha256: str | None) -> bytes:
    if policy.file_base_dir is None:
        raise _forbidden("file:// URLs are not enabled")
    base = policy.file_base_dir.resolve()
    path = Path(unquote(urlsplit(url).path)).resolve()
    if not path.is_relative_to(base):
        raise _forbidden("file outside the configured base directory")
    try:
        size = path.stat().st_size
        if size > policy.max_bytes:
            raise FetchError(ReasonCode.TOO_LARGE, "file over the size limit")
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(ReasonCode.FETCH_FAILED, str(exc)) from exc
    check_hash(data, expected_sha256)
    return data


async def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    expected_sha256: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> bytes:
    """Fetch the document at `url`; raises FetchError with the reason code on any failure."""
    if urlsplit(url).scheme == "file":
        return _read_file(url, policy, expected_sha256)
    first_host = _check_url(url, policy)
    async with httpx.AsyncClient(
        follow_redirects=False,
        timeout=policy.timeout_seconds,
        transport=transport,
        headers=policy.headers,
        trust_env=False,
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host = _check_url(url, policy)
            if host != first_host:
                raise _forbidden(f"redirect to another host: {host!r}")
            parts = urlsplit(url)
            await _check_addresses(host, parts.port or (443 if parts.scheme == "https" else 80), policy)
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != HTTP_OK:
                        raise FetchError(ReasonCode.FETCH_FAILED, f"HTTP {response.status_code}")
                    data = await _read_capped(response, policy.max_bytes)
            except httpx.HTTPError as exc:
                raise FetchError(ReasonCode.FETCH_FAILED, str(exc)) from exc
            check_hash(data, expected_sha256)
            return data
    raise FetchError(ReasonCode.FETCH_FAILED, "too many redirects")


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(ReasonCode.TOO_LARGE, "declared size over the limit")
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise FetchError(ReasonCode.TOO_LARGE, "file over the size limit")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_sync(url: str, *, policy: FetchPolicy, expected_sha256: str | None = None) -> bytes:
    return asyncio.run(fetch(url, policy=policy, expected_sha256=expected_sha256))
