"""Benchmark: documents per second per core, kiemchung's verifier vs plain pyHanko validation.

    .venv/bin/python bench/verify.py [--seconds 3] [--workers 2]

Plain pyHanko = PdfFileReader + validate_pdf_signature (difference analysis on) for every
signature, with a ValidationContext holding the same trust root: the signature part only, no
text, scan or number checks. The verifier does all of those too (every check on).

Per core: documents per CPU-second of this process (robust to other load on the machine), the
two alternating in short rounds on the same files. Scaling: wall-clock documents/s with 1 and N
worker processes; the verifier through its production `WorkerPool` (forked workers, per-document
time and memory bounds), pyHanko through a ProcessPoolExecutor.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from services.evidence_verifier.isolation import WorkerPool
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit import multisig
from services.evidence_verifier.testkit.evidence import demo_units, spec_for
from services.evidence_verifier.testkit.pki import TEST_DETECTION, TestPKI, generate_pki
from services.evidence_verifier.verify import verify_bytes

NOW = datetime(2024, 3, 12, 9, tzinfo=UTC)
BENCH_PAGES = 20
LTA_SIGNATURES = 25


def corpus(pki: TestPKI) -> dict[str, bytes]:
    unit = pki.units[0]
    options = docs.SignOptions(signing_time=NOW, tsa=pki.tsa)
    spec = spec_for(unit)
    return {
        "1 page, 1 signature": docs.sign_pdf(docs.make_document(spec), unit.organisation, options),
        "20 pages, 1 signature": docs.sign_pdf(
            docs.make_document(replace(spec, pages=BENCH_PAGES)), unit.organisation, options
        ),
        "1 page, 2 signatures": docs.sign_organisation_and_person(
            docs.make_document(spec), unit.organisation, unit.person, options
        ),
        # real-world shapes: PAdES B-LTA with DSS/CRL and a document timestamp after each
        # signature; a signed form filled and signed again
        f"{LTA_SIGNATURES} signatures, LTA+DSS": multisig.lta_chain(
            docs.make_document(spec), pki, multisig.many_signers(pki, LTA_SIGNATURES)
        ),
        "form filled, signed again": multisig.form_filled_and_signed_again(
            docs.make_document(spec, form_field=True), pki
        ),
    }


_STATE: dict[str, object] = {}


def _init(root_der: bytes) -> None:
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    _STATE["policy"] = VerifierPolicy(
        trust_roots=(root_der,), now=NOW + timedelta(days=1), organisation=TEST_DETECTION
    )
    _STATE["root"] = root_der


def ours(data: bytes) -> bool:
    policy = _STATE["policy"]
    assert isinstance(policy, VerifierPolicy)
    report = verify_bytes(data, name="bench.pdf", policy=policy, expected=Expectations()).report
    return report.decision.value == "accepted"


def plain(data: bytes) -> bool:
    from asn1crypto import x509

    root = _STATE["root"]
    assert isinstance(root, bytes)
    context = ValidationContext(trust_roots=[x509.Certificate.load(root)], moment=NOW + timedelta(days=1))
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    ok = True
    for embedded in reader.embedded_signatures:
        if embedded.sig_object_type == "/DocTimeStamp":
            ok = validate_pdf_timestamp(embedded, validation_context=context).intact and ok
        else:
            ok = validate_pdf_signature(embedded, context).bottom_line and ok
    return ok


ROUND_SECONDS = 0.25


def per_core_rates(data: bytes, seconds: float) -> tuple[float, float]:
    """(verifier, pyHanko) documents per CPU-second, alternating rounds so drift hits both."""
    assert ours(data), "the verifier did not accept the benchmark document"
    assert plain(data), "pyHanko did not accept the benchmark document"
    counts, spent = [0, 0], [0.0, 0.0]
    while sum(spent) < 2 * seconds:
        for index, func in enumerate((ours, plain)):
            started = time.process_time()
            while time.process_time() - started < ROUND_SECONDS:
                func(data)
                counts[index] += 1
            spent[index] += time.process_time() - started
    return counts[0] / spent[0], counts[1] / spent[1]


def _batch(args: tuple[bytes, int]) -> int:
    data, n = args
    for _ in range(n):
        plain(data)
    return n


def plain_parallel(data: bytes, workers: int, per_worker: int, root: bytes) -> float:
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(root,)) as pool:
        list(pool.map(_batch, [(data, 1)] * workers))  # warm up each worker
        started = time.perf_counter()
        done = sum(pool.map(_batch, [(data, per_worker)] * workers))
        return done / (time.perf_counter() - started)


def ours_parallel(data: bytes, workers: int, per_worker: int) -> float:
    policy = _STATE["policy"]
    assert isinstance(policy, VerifierPolicy)
    pool = WorkerPool(workers)

    def one(_: int) -> bool:
        outcome = pool.verify(data, name="bench.pdf", policy=policy, expected=Expectations())
        return outcome.report.decision.value == "accepted"

    try:
        with ThreadPoolExecutor(workers) as threads:
            assert all(threads.map(one, range(workers)))  # start and warm each worker
            started = time.perf_counter()
            assert all(threads.map(one, range(workers * per_worker)))
            return workers * per_worker / (time.perf_counter() - started)
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--per-core-only", action="store_true", help="skip the multi-process scaling table")
    args = parser.parse_args()
    pki = generate_pki(demo_units(1), NOW)
    _init(pki.root.cert_der)
    files = corpus(pki)
    print(f"{'document':28s} {'verifier/s':>11s} {'pyHanko/s':>10s} {'ratio':>6s}   (per core, CPU time)")
    single: dict[str, float] = {}
    for label, data in files.items():
        ours_rate, plain_rate = per_core_rates(data, args.seconds)
        single[label] = ours_rate
        print(f"{label:28s} {ours_rate:11.1f} {plain_rate:10.1f} {ours_rate / plain_rate:6.2f}")
    if args.per_core_only:
        return
    counts = sorted({1, args.workers})
    print(f"\nscaling (documents/s, wall clock, all workers; {os.cpu_count()} CPUs)")
    header = "".join(f" {'ours x' + str(n):>9s} {'pyH x' + str(n):>9s}" for n in counts)
    print(f"{'document':28s}{header}   ours N/1  pyH N/1")
    for label, data in files.items():
        per_worker = max(2, int(single[label] * args.seconds / 2))
        ours_rates = [ours_parallel(data, n, per_worker) for n in counts]
        plain_rates = [plain_parallel(data, n, per_worker, pki.root.cert_der) for n in counts]
        cells = "".join(f" {o:9.1f} {p:9.1f}" for o, p in zip(ours_rates, plain_rates, strict=True))
        ours_scale, plain_scale = ours_rates[-1] / ours_rates[0], plain_rates[-1] / plain_rates[0]
        print(f"{label:28s}{cells}   {ours_scale:8.2f} {plain_scale:8.2f}")


if __name__ == "__main__":
    main()
