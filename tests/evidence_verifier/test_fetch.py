from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.fetch import FetchPolicy, fetch

BODY = b"%PDF-1.7 fake document body " * 100
LOCAL = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/host":  # echoes the Host header the request arrived with
            body = self.headers.get("Host", "").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/doc.pdf":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/chunked.pdf":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        elif self.path == "/same-host-redirect":
            self.send_response(302)
            self.send_header("Location", "/doc.pdf")
            self.end_headers()
        elif self.path == "/other-host-redirect":
            self.send_response(302)
            self.send_header("Location", "http://localhost:1/doc.pdf")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer((LOCAL, 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL_POLICY = FetchPolicy(
    allowed_hosts=frozenset({LOCAL, "localhost"}),
    http_hosts=frozenset({LOCAL, "localhost"}),
    private_hosts=frozenset({LOCAL}),
)


async def test_fetch_and_hash(server: str) -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    assert await fetch(f"{server}/doc.pdf", policy=LOCAL_POLICY, expected_sha256=digest) == BODY
    assert await fetch(f"{server}/same-host-redirect", policy=LOCAL_POLICY) == BODY


async def _reason(url: str, policy: FetchPolicy = LOCAL_POLICY, sha: str | None = None) -> ReasonCode:
    with pytest.raises(FetchError) as caught:
        await fetch(url, policy=policy, expected_sha256=sha)
    return caught.value.reason


async def test_fetch_failures(server: str) -> None:
    assert await _reason(f"{server}/doc.pdf", sha="0" * 64) is ReasonCode.HASH_MISMATCH
    assert await _reason(f"{server}/missing.pdf") is ReasonCode.FETCH_FAILED
    small = FetchPolicy(**{**LOCAL_POLICY.__dict__, "max_bytes": 100})
    assert await _reason(f"{server}/doc.pdf", small) is ReasonCode.TOO_LARGE
    assert await _reason(f"{server}/chunked.pdf", small) is ReasonCode.TOO_LARGE
    assert await _reason(f"{server}/other-host-redirect") is ReasonCode.FETCH_FORBIDDEN


async def test_fetch_forbidden(server: str, tmp_path: Path) -> None:
    port = server.rsplit(":", 1)[1]
    assert await _reason("https://evil.example/doc.pdf") is ReasonCode.FETCH_FORBIDDEN
    assert await _reason("ftp://127.0.0.1/doc.pdf") is ReasonCode.FETCH_FORBIDDEN
    https_only = FetchPolicy(allowed_hosts=frozenset({LOCAL}), private_hosts=frozenset({LOCAL}))
    assert await _reason(f"{server}/doc.pdf", https_only) is ReasonCode.FETCH_FORBIDDEN
    no_private = FetchPolicy(allowed_hosts=frozenset({LOCAL}), http_hosts=frozenset({LOCAL}))
    assert await _reason(f"http://{LOCAL}:{port}/doc.pdf", no_private) is ReasonCode.FETCH_FORBIDDEN
    assert await _reason(f"file://{tmp_path}/x.pdf") is ReasonCode.FETCH_FORBIDDEN


async def test_file_urls_under_base_dir(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.pdf").write_bytes(BODY)
    (tmp_path / "secret.pdf").write_bytes(BODY)
    policy = FetchPolicy(file_base_dir=tmp_path / "docs")
    assert await fetch(f"file://{tmp_path}/docs/a.pdf", policy=policy) == BODY
    assert await _reason(f"file://{tmp_path}/docs/../secret.pdf", policy) is ReasonCode.FETCH_FORBIDDEN
    assert await _reason(f"file://{tmp_path}/docs/none.pdf", policy) is ReasonCode.FETCH_FAILED


async def test_name_resolving_to_loopback_is_refused_unless_allowlisted(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    url = f"http://localhost:{port}/doc.pdf"
    named = FetchPolicy(allowed_hosts=frozenset({"localhost"}), http_hosts=frozenset({"localhost"}))
    assert await _reason(url, named) is ReasonCode.FETCH_FORBIDDEN
    allowlisted = FetchPolicy(**{**named.__dict__, "private_hosts": frozenset({"localhost"})})
    assert await fetch(url, policy=allowlisted) == BODY


EOFFICE = "eoffice.example"
PUBLIC = "93.184.216.34"


async def test_request_goes_to_the_checked_address(server: str) -> None:
    """The name is resolved once; the connection uses that answer, the Host header the name."""
    port = server.rsplit(":", 1)[1]
    answers = iter([[LOCAL], [PUBLIC]])  # a second lookup would get another address
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    policy = FetchPolicy(
        allowed_hosts=frozenset({EOFFICE}),
        http_hosts=frozenset({EOFFICE}),
        private_hosts=frozenset({EOFFICE}),
    )
    assert await fetch(f"http://{EOFFICE}:{port}/host", policy=policy, resolve=rebinding) == (
        f"{EOFFICE}:{port}".encode()
    )
    assert lookups == [EOFFICE]


async def test_any_private_answer_is_refused() -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return [PUBLIC, LOCAL]  # a public first answer does not excuse a loopback one

    # never on the network: a wrongly allowed request would get this body instead of an error
    offline = httpx.MockTransport(lambda request: httpx.Response(200, content=BODY))
    policy = FetchPolicy(allowed_hosts=frozenset({EOFFICE}), http_hosts=frozenset({EOFFICE}))
    with pytest.raises(FetchError) as caught:
        await fetch(f"http://{EOFFICE}/doc.pdf", policy=policy, resolve=mixed, transport=offline)
    assert caught.value.reason is ReasonCode.FETCH_FORBIDDEN
