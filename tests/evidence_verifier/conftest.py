"""Shared fixtures: one test PKI and one set of generated documents per session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit.documents import SignOptions
from services.evidence_verifier.testkit.evidence import demo_units
from services.evidence_verifier.testkit.pki import TEST_DETECTION, TestPKI, generate_pki
from services.evidence_verifier.verify import Outcome, verify_bytes

PKI_NOW = datetime(2024, 3, 12, 9, 0, tzinfo=UTC)
VERIFY_NOW = PKI_NOW + timedelta(days=3)
YEAR = 2024
NUMBER = "15/KH-UBND"


@pytest.fixture(scope="session", autouse=True)
def _quiet_pyhanko() -> None:
    # pyHanko logs full tracebacks for every rejected change; the verdicts are what we assert
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return generate_pki(demo_units(2), PKI_NOW)


@pytest.fixture(scope="session")
def policy(pki: TestPKI) -> VerifierPolicy:
    return VerifierPolicy(
        trust_roots=tuple(c.cert_der for c in pki.trusted_roots), now=VERIFY_NOW, organisation=TEST_DETECTION
    )


@pytest.fixture(scope="session")
def expected() -> Expectations:
    return Expectations(number=NUMBER, year=YEAR)


@pytest.fixture(scope="session")
def stamped(pki: TestPKI) -> SignOptions:
    return SignOptions(signing_time=PKI_NOW, tsa=pki.tsa)


@dataclass(frozen=True)
class Verifier:
    policy: VerifierPolicy
    expected: Expectations

    def __call__(self, data: bytes, **changes: object) -> Outcome:
        expected = Expectations(**{**self.expected.__dict__, **changes})
        return verify_bytes(data, name="test.pdf", policy=self.policy, expected=expected)


@pytest.fixture(scope="session")
def verify(policy: VerifierPolicy, expected: Expectations) -> Callable[..., Outcome]:
    return Verifier(policy, expected)
