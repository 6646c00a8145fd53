from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from contracts.vocabulary import Decision, ReasonCode
from services.evidence_verifier import cli
from services.evidence_verifier.isolation import WorkerPool, verify_isolated, verify_isolated_async
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import TestPKI


@pytest.fixture(scope="module")
def signed(pki: TestPKI) -> bytes:
    # timestamped: the CLI judges "now" by the wall clock, the timestamp keeps the verdict fixed
    options = docs.SignOptions(signing_time=pki.now, tsa=pki.tsa)
    return docs.sign_pdf(docs.make_document(), pki.units[0].organisation, options)


def test_isolated_matches_in_process(signed: bytes, policy: VerifierPolicy) -> None:
    outcome = verify_isolated(signed, name="a.pdf", policy=policy, expected=Expectations(number="15/KH-UBND"))
    assert outcome.report.decision is Decision.ACCEPTED
    assert "KẾ HOẠCH" in outcome.text


def test_isolated_timeout(signed: bytes, policy: VerifierPolicy) -> None:
    tight = replace(policy, limits=Limits(timeout_seconds=0.001))
    report = verify_isolated(signed, name="a.pdf", policy=tight, expected=Expectations()).report
    assert report.reasons == [ReasonCode.TIMEOUT]
    assert report.decision is Decision.NEEDS_REVIEW


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return docs.decompression_bomb(64 * 1024 * 1024)


def test_isolated_memory_limit(bomb: bytes, policy: VerifierPolicy) -> None:
    tight = replace(policy, limits=Limits(memory_mb=16))
    report = verify_isolated(bomb, name="bomb.pdf", policy=tight, expected=Expectations()).report
    assert report.reasons == [ReasonCode.RESOURCE_LIMIT]
    assert report.decision is Decision.NEEDS_REVIEW


def test_bomb_within_budget_is_just_unsigned(bomb: bytes, policy: VerifierPolicy) -> None:
    report = verify_isolated(bomb, name="bomb.pdf", policy=policy, expected=Expectations()).report
    assert ReasonCode.UNSIGNED in report.reasons


@pytest.fixture
def one_worker() -> Iterator[WorkerPool]:
    pool = WorkerPool(1)
    yield pool
    pool.close()


def test_pool_keeps_serving_after_a_timeout(
    signed: bytes, policy: VerifierPolicy, one_worker: WorkerPool
) -> None:
    tight = replace(policy, limits=Limits(timeout_seconds=0.001))
    late = verify_isolated(signed, name="a.pdf", policy=tight, expected=Expectations(), pool=one_worker)
    assert late.report.reasons == [ReasonCode.TIMEOUT]
    again = verify_isolated(signed, name="a.pdf", policy=policy, expected=Expectations(), pool=one_worker)
    assert again.report.decision is Decision.ACCEPTED


def test_pool_keeps_serving_after_a_memory_limit(
    signed: bytes, bomb: bytes, policy: VerifierPolicy, one_worker: WorkerPool
) -> None:
    tight = replace(policy, limits=Limits(memory_mb=16))
    capped = verify_isolated(bomb, name="bomb.pdf", policy=tight, expected=Expectations(), pool=one_worker)
    assert capped.report.reasons == [ReasonCode.RESOURCE_LIMIT]
    for _ in range(2):  # the memory cap is per document: later documents get the full budget
        outcome = verify_isolated(
            signed, name="a.pdf", policy=policy, expected=Expectations(), pool=one_worker
        )
        assert outcome.report.decision is Decision.ACCEPTED


async def test_isolated_async(signed: bytes, policy: VerifierPolicy) -> None:
    outcome = await verify_isolated_async(signed, name="a.pdf", policy=policy, expected=Expectations())
    assert outcome.report.decision is Decision.ACCEPTED


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli(tmp_path: Path, pki: TestPKI, signed: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    trust = pki.write_trust_dir(tmp_path / "trust")
    good = tmp_path / "good.pdf"
    good.write_bytes(signed)
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(docs.make_document())

    assert _run(["verify", str(good), "--trust", str(trust), "--year", "2024", "--number", "15/KH-UBND"]) == 0
    assert "ACCEPTED" in capsys.readouterr().out

    assert _run(["verify", str(good), str(unsigned), "--trust", str(trust), "--json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["decision"] for line in lines] == ["accepted", "rejected"]
    assert json.loads(lines[1])["reasons"] == ["UNSIGNED"]

    assert _run(["verify", str(good)]) == 2  # no trust roots
    assert _run(["verify", str(tmp_path / "missing.pdf"), "--trust", str(trust)]) == 2
    with pytest.raises(SystemExit) as usage:
        _run(["verify", str(good), "--year", "not-a-year"])
    assert usage.value.code == 2
