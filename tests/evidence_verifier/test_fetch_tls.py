"""The https path of the pinned fetch, against a local TLS server with a generated private CA.

The e-office name never reaches DNS: the resolver passed to `fetch` maps it to 127.0.0.1, so
the connection goes to the loopback address while the name is sent as SNI and `Host` and the
certificate is verified for the name.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.fetch import FetchPolicy, fetch

LOCAL = "127.0.0.1"
EOFFICE = "eoffice.kiemchung.test"
MIRROR = "mirror.kiemchung.test"  # allow-listed and on the same certificate: only the rule stops it
STRANGER = "stranger.kiemchung.test"  # the name on a certificate that is not the e-office's
BODY = "%PDF-1.7 văn bản thử nghiệm ".encode() * 200
SMALL_CAP = len(BODY) // 2
CERT_LIFETIME = timedelta(days=1)
HANDSHAKE_TIMEOUT_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 5.0
POLL_SECONDS = 0.05  # how soon the server thread notices shutdown


@dataclass(frozen=True)
class _Pem:
    cert: bytes
    key: bytes


@dataclass(frozen=True)
class _PKI:
    ca_pem: str
    leaf: _Pem  # SAN: EOFFICE and MIRROR
    stranger: _Pem  # SAN: STRANGER, same CA


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _generate_pki() -> _PKI:
    # OpenSSL checks validity against the real clock, so the certificates are valid around now
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Kiemchung Test Province CA"))
        .issuer_name(_name("Kiemchung Test Province CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CERT_LIFETIME)
        .not_valid_after(now + CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(*dns_names: str) -> _Pem:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(dns_names[0]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CERT_LIFETIME)
            .not_valid_after(now + CERT_LIFETIME)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return _Pem(cert.public_bytes(serialization.Encoding.PEM), key_pem)

    return _PKI(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        leaf=leaf(EOFFICE, MIRROR),
        stranger=leaf(STRANGER),
    )


@pytest.fixture(scope="module")
def pki() -> _PKI:
    return _generate_pki()


@dataclass
class _Seen:
    """What the server saw, per request, in arrival order."""

    sni: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


class _TLSServer(ThreadingHTTPServer):
    """Plain TCP accept; the TLS handshake runs in the request's thread, so a client that
    refuses the certificate cannot stall the accept loop."""

    def __init__(self, cert: _Pem, tmp_path: Path) -> None:
        super().__init__((LOCAL, 0), _Handler)
        cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
        cert_file.write_bytes(cert.cert)
        key_file.write_bytes(cert.key)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.context.sni_callback = self._record_sni
        self.seen = _Seen()
        self._sni_by_connection: dict[int, str | None] = {}

    def _record_sni(
        self, connection: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext
    ) -> None:
        self._sni_by_connection[id(connection)] = name

    def sni_of(self, connection: ssl.SSLSocket) -> str | None:
        return self._sni_by_connection.get(id(connection))

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        assert isinstance(request, socket.socket)
        request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:  # the client refused the certificate (ssl.SSLError is an OSError)
            return
        try:
            _Handler(tls, client_address, self)
        finally:
            tls.close()


class _Handler(BaseHTTPRequestHandler):
    server: _TLSServer

    def _send(self, status: int, body: bytes = b"", location: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        assert isinstance(self.connection, ssl.SSLSocket)
        self.server.seen.sni.append(self.server.sni_of(self.connection))
        self.server.seen.hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        if self.path == "/doc.pdf":
            self._send(200, BODY)
        elif self.path == "/chunked.pdf":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        elif self.path == "/same-host-redirect":
            self._send(302, location="/doc.pdf")
        elif self.path == "/other-host-redirect":
            self._send(302, location=f"https://{MIRROR}:{port}/doc.pdf")
        elif self.path == "/downgrade-redirect":
            self._send(302, location=f"http://{EOFFICE}:{port}/doc.pdf")
        else:
            self._send(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class _Running:
    base: str  # https://EOFFICE:port
    seen: _Seen


def _serve(cert: _Pem, tmp_path: Path) -> Iterator[_Running]:
    httpd = _TLSServer(cert, tmp_path)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True)
    thread.start()
    try:
        yield _Running(f"https://{EOFFICE}:{httpd.server_address[1]}", httpd.seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=HANDSHAKE_TIMEOUT_SECONDS)


@pytest.fixture
def eoffice(pki: _PKI, tmp_path: Path) -> Iterator[_Running]:
    """The e-office server, with a certificate for EOFFICE and MIRROR from the test CA."""
    yield from _serve(pki.leaf, tmp_path)


@pytest.fixture
def impostor(pki: _PKI, tmp_path: Path) -> Iterator[_Running]:
    """A server at the e-office's address whose certificate (same CA) names another host."""
    yield from _serve(pki.stranger, tmp_path)


class _Resolver:
    """Maps the test names to the loopback address and records every lookup; any other name
    fails, so nothing here reaches real DNS."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in (EOFFICE, MIRROR, STRANGER):
            raise FetchError(ReasonCode.FETCH_FAILED, f"unknown test name {host!r}")
        return [LOCAL]


def _policy(pki: _PKI, **changes: Any) -> FetchPolicy:
    names = frozenset({EOFFICE, MIRROR})
    base = FetchPolicy(
        allowed_hosts=names,
        private_hosts=names,  # they resolve to 127.0.0.1
        extra_ca_pem=(pki.ca_pem,),
        timeout_seconds=FETCH_TIMEOUT_SECONDS,
    )
    return replace(base, **changes)


async def _reason(url: str, policy: FetchPolicy, sha: str | None = None) -> ReasonCode:
    with pytest.raises(FetchError) as caught:
        await fetch(url, policy=policy, expected_sha256=sha, resolve=_Resolver())
    return caught.value.reason


async def test_pdf_over_https_is_pinned_with_sni_host_and_verified_name(pki: _PKI, eoffice: _Running) -> None:
    resolver = _Resolver()
    digest = hashlib.sha256(BODY).hexdigest()
    url = f"{eoffice.base}/doc.pdf"
    assert await fetch(url, policy=_policy(pki), expected_sha256=digest, resolve=resolver) == BODY
    port = eoffice.base.rsplit(":", 1)[1]
    assert eoffice.seen.sni == [EOFFICE]  # the name, not the pinned IP, in the handshake
    assert eoffice.seen.hosts == [f"{EOFFICE}:{port}"]
    assert resolver.lookups == [EOFFICE]


async def test_same_host_redirect_over_https(pki: _PKI, eoffice: _Running) -> None:
    assert await fetch(f"{eoffice.base}/same-host-redirect", policy=_policy(pki), resolve=_Resolver()) == BODY
    assert eoffice.seen.sni[-1] == EOFFICE
    assert len(eoffice.seen.hosts) == 2


async def test_private_ca_must_be_configured(pki: _PKI, eoffice: _Running) -> None:
    untrusted = _policy(pki, extra_ca_pem=())
    assert await _reason(f"{eoffice.base}/doc.pdf", untrusted) is ReasonCode.FETCH_FAILED
    assert eoffice.seen.hosts == []  # no request was sent over the unverified connection


async def test_certificate_for_another_name_is_refused(pki: _PKI, impostor: _Running) -> None:
    assert await _reason(f"{impostor.base}/doc.pdf", _policy(pki)) is ReasonCode.FETCH_FAILED
    assert impostor.seen.hosts == []


async def test_redirect_to_another_allowed_host_is_refused(pki: _PKI, eoffice: _Running) -> None:
    # MIRROR is allow-listed and on the server's certificate: following would return the body
    url = f"{eoffice.base}/other-host-redirect"
    assert await _reason(url, _policy(pki)) is ReasonCode.FETCH_FORBIDDEN
    assert eoffice.seen.sni == [EOFFICE]


async def test_redirect_down_to_plain_http_is_refused(pki: _PKI, eoffice: _Running) -> None:
    assert await _reason(f"{eoffice.base}/downgrade-redirect", _policy(pki)) is ReasonCode.FETCH_FORBIDDEN


async def test_size_cap_and_hash_over_https(pki: _PKI, eoffice: _Running) -> None:
    small = _policy(pki, max_bytes=SMALL_CAP)
    assert await _reason(f"{eoffice.base}/doc.pdf", small) is ReasonCode.TOO_LARGE
    assert await _reason(f"{eoffice.base}/chunked.pdf", small) is ReasonCode.TOO_LARGE
    assert await _reason(f"{eoffice.base}/doc.pdf", _policy(pki), sha="0" * 64) is ReasonCode.HASH_MISMATCH
    exact = _policy(pki, max_bytes=len(BODY))
    assert await fetch(f"{eoffice.base}/chunked.pdf", policy=exact, resolve=_Resolver()) == BODY
