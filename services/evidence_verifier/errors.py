"""The evidence verifier's exceptions: one base class carrying a reason code."""

from __future__ import annotations

from contracts.vocabulary import ReasonCode


class VerifierError(Exception):
    """Base class; `reason` says what the report should carry."""

    def __init__(self, reason: ReasonCode, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class DocumentRejectedError(VerifierError):
    """The bytes cannot be verified at all (not a PDF, encrypted, over a limit...)."""


class FetchError(VerifierError):
    """A claim-check fetch failed: FETCH_FAILED, FETCH_FORBIDDEN, TOO_LARGE or HASH_MISMATCH.

    `unavailable` is set when the e-office system did not answer (connection refused or reset,
    timeout, a 5xx status): the document may well be fine, so the link waits and is fetched
    again later instead of getting a verdict now."""

    def __init__(self, reason: ReasonCode, message: str, *, unavailable: bool = False) -> None:
        super().__init__(reason, message)
        self.unavailable = unavailable


class SignedRangeError(VerifierError):
    """A signature's /ByteRange does not cover what it must (see signed_range.py)."""

    def __init__(self, message: str) -> None:
        super().__init__(ReasonCode.SIGNATURE_BROKEN, message)
