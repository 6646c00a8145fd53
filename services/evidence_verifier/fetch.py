"""Claim-check fetching of evidence PDFs from the e-office system.

Only allow-listed hosts, https unless a host is configured for http, no redirect to another
host, no private or loopback address unless the host is allow-listed for it, a size cap while
streaming, and the expected SHA-256 checked.

The address check and the connection use the same resolution: a host is resolved once per
request, every address is checked, and the request goes to a checked address (the URL's host
replaced by the IP, the original `Host` header kept, and for https the original name sent as
TLS SNI and verified against the certificate). A DNS answer that changes between the check and
the connection (DNS rebinding) therefore cannot steer the request to an internal address.

`file://` paths are served only under a configured base directory (the embedded runtime, where
e-office and kiemchung share a disk).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
import ssl
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import httpx

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.limits import DEFAULT_MAX_BYTES

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTTP_OK = 200
# A server error or "too busy" from e-office: the system is down, not the document.
UNAVAILABLE_STATUSES = frozenset({429, *range(500, 600)})
HTTPS_PORT, HTTP_PORT = 443, 80
# A claim-check URL is short; a longer one is refused before it is parsed.
MAX_URL_CHARS = 4096
MAX_URL_ECHO = 200
ASCII_PRINTABLE = 0x20
FILE_CHUNK_BYTES = 1024 * 1024

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> the host's IP addresses, in the order to try them."""


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    http_hosts: frozenset[str] = frozenset()  # allowed over plain http (inside a trusted network)
    private_hosts: frozenset[str] = frozenset()  # may resolve to private/loopback addresses
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    file_base_dir: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # PEM text of CA certificates trusted for https on top of the default (certifi) store: for
    # e-office systems whose certificate comes from a province's private CA.
    extra_ca_pem: tuple[str, ...] = ()


def _tls_verification(policy: FetchPolicy) -> ssl.SSLContext | bool:
    """httpx's `verify=`: the default store, plus the policy's extra CAs when there are any."""
    if not policy.extra_ca_pem:
        return True
    context = httpx.create_ssl_context(trust_env=False)
    for pem in policy.extra_ca_pem:
        context.load_verify_locations(cadata=pem)
    return context


def _forbidden(message: str) -> FetchError:
    return FetchError(ReasonCode.FETCH_FORBIDDEN, message)


def check_hash(data: bytes, expected_sha256: str | None) -> None:
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256.lower():
        raise FetchError(ReasonCode.HASH_MISMATCH, "sha256 of the fetched file differs")


def _malformed(url: str, why: object) -> FetchError:
    return _forbidden(f"malformed URL {url[:MAX_URL_ECHO]!r}: {why}")


def _split(url: str) -> tuple[SplitResult, int | None]:
    """The URL's parts and its port, or FETCH_FORBIDDEN for a URL that cannot be parsed (a port
    of 99999 or "abc", a NUL or a control character)."""
    if len(url) > MAX_URL_CHARS:
        raise _forbidden(f"URL longer than {MAX_URL_CHARS} characters")
    if any(ord(c) < ASCII_PRINTABLE or c == "\x7f" for c in unquote(url)):
        raise _malformed(url, "control character")
    try:
        parts = urlsplit(url)
        return parts, parts.port
    except ValueError as exc:
        raise _malformed(url, exc) from exc


def _check_url(url: str, policy: FetchPolicy) -> str:
    """Return the host after checking scheme and allow-list (no DNS yet)."""
    parts, _ = _split(url)
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


def _embedded(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (IPv4-mapped, 6to4, Teredo server and client)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _is_public(address: str) -> bool:
    """Globally routable only (`is_global`): 100.64.0.0/10 (carrier NAT, cloud metadata at
    100.100.100.200), site-local fec0::/10, and IPv6 forms that embed a non-global IPv4 are not."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        return all(_is_public(str(inner)) for inner in _embedded(ip))
    return True


async def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver's addresses for `host`, without duplicates, in its order."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(ReasonCode.FETCH_FAILED, f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _checked_addresses(host: str, port: int, policy: FetchPolicy, resolve: Resolver) -> list[str]:
    """Resolve once and check: every address public, unless the host is allow-listed for
    private addresses. The request then goes only to these addresses."""
    addresses = await resolve(host, port)
    if not addresses:
        raise FetchError(ReasonCode.FETCH_FAILED, f"no address for {host!r}")
    if host not in policy.private_hosts:
        for address in addresses:
            if not _is_public(address):
                raise _forbidden(f"{host!r} resolves to a private or loopback address")
    return addresses


def _pinned(url: str, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """(URL aimed at `address`, headers, request extensions) for a request to `url`'s host."""
    original = httpx.URL(url)
    headers = {"Host": original.netloc.decode("ascii")}
    extensions = {"sni_hostname": original.host} if original.scheme == "https" else {}
    return original.copy_with(host=address), headers, extensions


def _read_file(url: str, policy: FetchPolicy, expected_sha256: str | None) -> bytes:
    """Blocking: run it off the event loop. Regular files only (a FIFO or a device would block
    or never end), opened non-blocking and checked on the open descriptor (no swap in between)."""
    if policy.file_base_dir is None:
        raise _forbidden("file:// URLs are not enabled")
    parts, _ = _split(url)
    base = policy.file_base_dir.resolve()
    path = Path(unquote(parts.path)).resolve()
    if not path.is_relative_to(base):
        raise _forbidden("file outside the configured base directory")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise FetchError(ReasonCode.FETCH_FAILED, str(exc)) from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _forbidden("not a regular file")
        if info.st_size > policy.max_bytes:
            raise FetchError(ReasonCode.TOO_LARGE, "file over the size limit")
        data = handle.read(policy.max_bytes + 1)
    if len(data) > policy.max_bytes:
        raise FetchError(ReasonCode.TOO_LARGE, "file over the size limit")
    check_hash(data, expected_sha256)
    return data


async def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    expected_sha256: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    resolve: Resolver = resolve_host,
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """Fetch the document at `url`; raises FetchError with the reason code on any failure.

    A service passes one long-lived `client` (see `new_client`): its connection pool and TLS
    context are built once instead of for every document.

    One deadline (`policy.timeout_seconds`) covers the whole fetch: resolution, redirects and
    the body; a server dripping bytes cannot stretch it."""
    parts, _ = _split(url)
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            if parts.scheme == "file":
                return await asyncio.to_thread(_read_file, url, policy, expected_sha256)
            if client is not None:
                return await _fetch_with(client, url, policy, expected_sha256, resolve)
            async with new_client(policy, transport) as own:
                return await _fetch_with(own, url, policy, expected_sha256, resolve)
    except TimeoutError as exc:
        raise FetchError(
            ReasonCode.FETCH_FAILED, f"fetch not done within {policy.timeout_seconds} s", unavailable=True
        ) from exc


def new_client(policy: FetchPolicy, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An HTTP client for `policy`'s claim checks (no redirects followed, no proxy from the env)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=policy.timeout_seconds,
        transport=transport,
        headers=policy.headers,
        trust_env=False,
        verify=_tls_verification(policy),
    )


async def _fetch_with(
    client: httpx.AsyncClient, url: str, policy: FetchPolicy, expected_sha256: str | None, resolve: Resolver
) -> bytes:
    first_host = _check_url(url, policy)
    for _ in range(MAX_REDIRECTS + 1):
        host = _check_url(url, policy)
        if host != first_host:
            raise _forbidden(f"redirect to another host: {host!r}")
        parts, explicit_port = _split(url)
        port = explicit_port or (HTTPS_PORT if parts.scheme == "https" else HTTP_PORT)
        addresses = await _checked_addresses(host, port, policy, resolve)
        location = await _get(client, url, addresses, policy.max_bytes)
        if isinstance(location, bytes):
            check_hash(location, expected_sha256)
            return location
        url = urljoin(url, location)
    raise FetchError(ReasonCode.FETCH_FAILED, "too many redirects")


async def _get(client: httpx.AsyncClient, url: str, addresses: list[str], max_bytes: int) -> bytes | str:
    """The body, or the redirect target; tries the checked addresses in order until one connects."""
    for index, address in enumerate(addresses):
        try:
            pinned, headers, extensions = _pinned(url, address)
        except httpx.InvalidURL as exc:
            raise _malformed(url, exc) from exc
        try:
            async with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                    return str(response.headers["location"])
                if response.status_code != HTTP_OK:
                    raise FetchError(
                        ReasonCode.FETCH_FAILED,
                        f"HTTP {response.status_code}",
                        unavailable=response.status_code in UNAVAILABLE_STATUSES,
                    )
                return await _read_capped(response, max_bytes)
        except httpx.ConnectError as exc:
            if index + 1 < len(addresses):
                continue  # the next checked address (e.g. IPv4 after an unreachable IPv6)
            raise FetchError(ReasonCode.FETCH_FAILED, str(exc), unavailable=True) from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise FetchError(
                ReasonCode.FETCH_FAILED, str(exc) or type(exc).__name__, unavailable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise FetchError(ReasonCode.FETCH_FAILED, str(exc)) from exc
    raise FetchError(ReasonCode.FETCH_FAILED, "no address to connect to")


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
