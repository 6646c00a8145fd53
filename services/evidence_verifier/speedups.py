# mypy: disable-error-code="no-untyped-call"
# (pyHanko and pyhanko-certvalidator are only partly typed)
"""Three replacements for pyHanko hot spots, active only inside `fast_scope()`.

1. Hex strings. pyHanko reads `<...>` one byte per generator step; a signature's /Contents is a
   hex string of 16-64 KiB, so reading it was a third of pyHanko's time per signature. The fast
   reader finds the closing `>` with `bytes.find` and decodes with `binascii`; anything unusual
   (a comment inside the string, a non-hex byte) goes to pyHanko's own reader, so the result and
   the errors are pyHanko's.
2. Certificate paths. `find_valid_path` (path building + PKIX validation) is most of the rest,
   and a province's documents repeat a few signer chains. A validated path is remembered under
   a key naming everything that can change the outcome except time (policy, signer, the
   certificates offered), together with the time window in which every certificate on it is
   valid. A later validation with the same key at a time inside that window reuses it. Only
   validations with no revocation data, soft-fail and no fetching are cached: there the outcome
   depends on time only through certificate validity, which the window covers. Failures are
   never cached, so a rejection is always pyHanko's own.
3. Certificate extraction. `extract_certs_for_validation` copies (re-encodes) every certificate
   a CMS blob carries, finds the signer by comparing names under LDAP string preparation and
   checks the signing-certificate attribute; pyHanko runs it several times per signature and
   timestamp. Its outcome depends only on the blob's certificates, the signer identifier and the
   signing-certificate attributes, so a successful extraction is remembered under the DER of
   exactly those; the same signer's next signature (or the same TSA's next token) reuses it.
   Failures are never cached.

Outside the scope (plain pyHanko, the benchmark's baseline, other callers) both functions behave
exactly as shipped: the replacements delegate to the originals.
"""

from __future__ import annotations

import binascii
import contextvars
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyhanko_certvalidator
from asn1crypto import x509 as asn1_x509
from asn1crypto.core import Void
from pyhanko.pdf_utils import generic
from pyhanko.sign.general import SignedDataCerts
from pyhanko.sign.validation import generic_cms
from pyhanko_certvalidator.path import ValidationPath

HEX_CHUNK = 64 * 1024
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_PDF_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
PATH_CACHE_SIZE = 1024
CERTS_CACHE_SIZE = 1024
_SIGNING_CERT_ATTRS = frozenset({"signing_certificate", "signing_certificate_v2"})


@dataclass(frozen=True)
class PathScope:
    """What the path cache needs to know about the validation in progress."""

    key: tuple[str, ...]  # from `path_key`
    moment: datetime
    cacheable: bool


_FAST: contextvars.ContextVar[bool] = contextvars.ContextVar("fast_pyhanko", default=False)
_PATH_SCOPE: contextvars.ContextVar[PathScope | None] = contextvars.ContextVar("path_scope", default=None)


@contextmanager
def fast_scope() -> Iterator[None]:
    token = _FAST.set(True)
    try:
        yield
    finally:
        _FAST.reset(token)


@contextmanager
def path_scope(scope: PathScope) -> Iterator[None]:
    token = _PATH_SCOPE.set(scope)
    try:
        yield
    finally:
        _PATH_SCOPE.reset(token)


# --- hex strings ------------------------------------------------------------------------------

_stock_read_hex = generic.read_hex_string_from_stream


def _read_hex(stream: Any) -> Any:
    if not _FAST.get():
        return _stock_read_hex(stream)
    start = stream.tell()
    stream.read(1)  # the "<"
    chunks: list[bytes] = []
    while True:
        chunk = stream.read(HEX_CHUNK)
        if not chunk:
            break  # unterminated: pyHanko's reader reports it
        end = chunk.find(b">")
        if end >= 0:
            chunks.append(chunk[:end])
            stream.seek(end + 1 - len(chunk), os.SEEK_CUR)
            digits = b"".join(chunks).translate(None, _PDF_WHITESPACE)
            if digits.translate(None, _HEX_DIGITS):
                break  # a comment or a bad byte: pyHanko decides
            if len(digits) % 2:
                digits += b"0"
            return generic.pdf_string(binascii.unhexlify(digits))
        chunks.append(chunk)
    stream.seek(start)
    return _stock_read_hex(stream)


# --- certificate paths ------------------------------------------------------------------------


@dataclass(frozen=True)
class _CachedPath:
    path: ValidationPath
    valid_from: datetime  # latest notBefore on the path
    valid_until: datetime  # earliest notAfter on the path


_PATH_LOCK = threading.Lock()
_PATHS: dict[tuple[str, ...], _CachedPath] = {}
_stock_find_valid_path = pyhanko_certvalidator.find_valid_path


def clear_path_cache() -> None:
    with _PATH_LOCK:
        _PATHS.clear()


def path_key(policy_key: str, offered: Sequence[bytes]) -> tuple[str, ...]:
    """The policy and the certificates a signature offers for path building; the certificate
    being validated is added at lookup time."""
    return (policy_key, *sorted({hashlib.sha256(o).hexdigest() for o in offered}))


def _window(path: ValidationPath) -> tuple[datetime, datetime]:
    certs = [c for c in path.iter_certs(include_root=True) if isinstance(c, asn1_x509.Certificate)]
    return (
        max(c["tbs_certificate"]["validity"]["not_before"].native for c in certs),
        min(c["tbs_certificate"]["validity"]["not_after"].native for c in certs),
    )


async def _find_valid_path(
    certificate: asn1_x509.Certificate,
    paths: Any,
    validation_context: Any,
    pkix_validation_params: Any = None,
) -> ValidationPath:
    scope = _PATH_SCOPE.get()
    if scope is None or not scope.cacheable or pkix_validation_params is not None:
        found: ValidationPath = await _stock_find_valid_path(
            certificate, paths, validation_context, pkix_validation_params
        )
        return found
    key = (*scope.key, hashlib.sha256(certificate.dump()).hexdigest())
    with _PATH_LOCK:
        cached = _PATHS.get(key)
    if cached is not None and cached.valid_from <= scope.moment <= cached.valid_until:
        await paths.cancel()
        return cached.path
    path: ValidationPath = await _stock_find_valid_path(
        certificate, paths, validation_context, pkix_validation_params
    )
    valid_from, valid_until = _window(path)
    with _PATH_LOCK:
        if len(_PATHS) >= PATH_CACHE_SIZE:
            _PATHS.clear()
        _PATHS[key] = _CachedPath(path, valid_from, valid_until)
    return path


# --- certificate extraction -------------------------------------------------------------------

_CERTS_LOCK = threading.Lock()
_CERTS: dict[tuple[bytes, bytes, bytes], SignedDataCerts] = {}
_stock_extract_certs = generic_cms.extract_certs_for_validation


_CHECKED_LOCK = threading.Lock()
_CHECKED: set[tuple[bytes, bytes]] = set()
_stock_check_signing_certificate = generic_cms._check_signing_certificate


def _signing_cert_attrs(attrs: Any) -> bytes:
    """DER of the signing-certificate attributes among a signer's signed attributes."""
    if isinstance(attrs, Void):
        return b""
    return b"".join(a.dump() for a in attrs if a["type"].native in _SIGNING_CERT_ATTRS)


def _certs_key(signed_data: Any) -> tuple[bytes, bytes, bytes]:
    """Digests of everything `extract_certs_for_validation` reads. Raises on any structure
    it cannot read, and the caller then leaves the decision to pyHanko."""
    (signer_info,) = signed_data["signer_infos"]
    return (
        hashlib.sha256(signed_data["certificates"].dump()).digest(),
        hashlib.sha256(signer_info["sid"].dump()).digest(),
        hashlib.sha256(_signing_cert_attrs(signer_info["signed_attrs"])).digest(),
    )


def _check_signing_certificate(cert: Any, signed_attrs: Any) -> None:
    """pyHanko's check that the signing-certificate attribute names `cert`; it also runs inside
    every integrity check. A pass is remembered for the same certificate and attributes."""
    if not _FAST.get():
        return _stock_check_signing_certificate(cert, signed_attrs)  # type: ignore[no-any-return]
    try:
        key = (
            hashlib.sha256(cert.dump()).digest(),
            hashlib.sha256(_signing_cert_attrs(signed_attrs)).digest(),
        )
    except Exception:  # malformed: pyHanko's own check reports it its way
        return _stock_check_signing_certificate(cert, signed_attrs)  # type: ignore[no-any-return]
    with _CHECKED_LOCK:
        if key in _CHECKED:
            return None
    _stock_check_signing_certificate(cert, signed_attrs)  # raises when the attribute does not match
    with _CHECKED_LOCK:
        if len(_CHECKED) >= CERTS_CACHE_SIZE:
            _CHECKED.clear()
        _CHECKED.add(key)
    return None


def _extract_certs(signed_data: Any) -> SignedDataCerts:
    if not _FAST.get():
        return _stock_extract_certs(signed_data)
    try:
        key = _certs_key(signed_data)
    except Exception:  # malformed: pyHanko's own extraction reports it its way
        return _stock_extract_certs(signed_data)
    with _CERTS_LOCK:
        found = _CERTS.get(key)
    if found is None:
        found = _stock_extract_certs(signed_data)
        with _CERTS_LOCK:
            if len(_CERTS) >= CERTS_CACHE_SIZE:
                _CERTS.clear()
            _CERTS[key] = found
    # fresh lists: callers may keep or extend them, the certificates themselves are shared
    return SignedDataCerts(
        signer_cert=found.signer_cert,
        other_certs=list(found.other_certs),
        attribute_certs=list(found.attribute_certs),
    )


def clear_caches() -> None:
    clear_path_cache()
    with _CERTS_LOCK:
        _CERTS.clear()
    with _CHECKED_LOCK:
        _CHECKED.clear()


def install() -> None:
    """Route pyHanko through the gated replacements (idempotent)."""
    generic.read_hex_string_from_stream = _read_hex
    generic_cms.find_valid_path = _find_valid_path  # type: ignore[attr-defined]
    generic_cms.extract_certs_for_validation = _extract_certs
    generic_cms._check_signing_certificate = _check_signing_certificate


install()
