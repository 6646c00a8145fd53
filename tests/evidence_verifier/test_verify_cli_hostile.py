"""`kiemchung verify` on a huge file says TOO_LARGE without reading it (issue 10, item 12)."""

from __future__ import annotations

import argparse
import json
import tracemalloc
from pathlib import Path

import pytest

from contracts.vocabulary import ReasonCode
from services.evidence_verifier import cli
from services.evidence_verifier.isolation import verify_isolated
from services.evidence_verifier.limits import DEFAULT_MAX_BYTES
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import TestPKI

MIB = 1024 * 1024
# Far below the file: reading it would show many times over.
READ_BUDGET_BYTES = 8 * MIB


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_huge_file_is_too_large_without_being_read(
    tmp_path: Path, pki: TestPKI, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = pki.write_trust_dir(tmp_path / "trust")
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as handle:
        handle.truncate(DEFAULT_MAX_BYTES * 2)  # sparse
    tracemalloc.start()
    try:
        code = _run(["verify", str(huge), "--trust", str(trust), "--json"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    assert json.loads(capsys.readouterr().out)["reasons"] == [ReasonCode.TOO_LARGE.value]
    assert peak < READ_BUDGET_BYTES


def test_a_path_is_verified_by_the_worker(tmp_path: Path, pki: TestPKI, policy: VerifierPolicy) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(docs.make_document())
    by_path = verify_isolated(path, name="a.pdf", policy=policy, expected=Expectations()).report
    by_bytes = verify_isolated(path.read_bytes(), name="a.pdf", policy=policy, expected=Expectations()).report
    assert by_path.reasons == by_bytes.reasons
    assert by_path.sha256 == by_bytes.sha256
