# mypy: disable-error-code="no-untyped-call"
# (pyHanko and pyhanko-certvalidator are only partly typed)
"""Two replacements for pyHanko hot spots, active only inside `fast_scope()`.

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
from pyhanko.pdf_utils import generic
from pyhanko.sign.validation import generic_cms
from pyhanko_certvalidator.path import ValidationPath

HEX_CHUNK = 64 * 1024
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_PDF_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
PATH_CACHE_SIZE = 1024


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


def install() -> None:
    """Route pyHanko through the gated replacements (idempotent)."""
    generic.read_hex_string_from_stream = _read_hex
    generic_cms.find_valid_path = _find_valid_path  # type: ignore[attr-defined]


install()
