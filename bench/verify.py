"""Benchmark: documents per second per core, kiemchung's verifier vs plain pyHanko validation.

    .venv/bin/python bench/verify.py [--seconds 3] [--workers 2]

Plain pyHanko = PdfFileReader + validate_pdf_signature (difference analysis on) for every
signature, with a ValidationContext holding the same trust root: the signature part only, no
text, scan or number checks. The verifier does all of those too.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import demo_units, spec_for
from services.evidence_verifier.testkit.pki import TestPKI, generate_pki
from services.evidence_verifier.verify import verify_bytes

NOW = datetime(2024, 3, 12, 9, tzinfo=UTC)
BENCH_PAGES = 20


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
    }


_STATE: dict[str, object] = {}


def _init(root_der: bytes) -> None:
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    _STATE["policy"] = VerifierPolicy(trust_roots=(root_der,), now=NOW + timedelta(days=1))
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
    return all(validate_pdf_signature(s, context).bottom_line for s in reader.embedded_signatures)


def rate(func: Callable[[bytes], bool], data: bytes, seconds: float) -> float:
    assert func(data), f"{func.__name__} did not accept the benchmark document"
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        func(data)
        count += 1
    return count / (time.perf_counter() - started)


def _batch(args: tuple[str, bytes, int]) -> int:
    name, data, n = args
    func = ours if name == "ours" else plain
    for _ in range(n):
        func(data)
    return n


def parallel_rate(name: str, data: bytes, workers: int, per_worker: int, root: bytes) -> float:
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(root,)) as pool:
        list(pool.map(_batch, [(name, data, 1)] * workers))  # warm up each worker
        started = time.perf_counter()
        done = sum(pool.map(_batch, [(name, data, per_worker)] * workers))
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    pki = generate_pki(demo_units(1), NOW)
    _init(pki.root.cert_der)
    print(f"{'document':24s} {'verifier/s':>11s} {'pyHanko/s':>10s} {'ratio':>6s}   (one core)")
    files = corpus(pki)
    single: dict[str, float] = {}
    for label, data in files.items():
        ours_rate, plain_rate = rate(ours, data, args.seconds), rate(plain, data, args.seconds)
        single[label] = ours_rate
        print(f"{label:24s} {ours_rate:11.1f} {plain_rate:10.1f} {ours_rate / plain_rate:6.2f}")
    print(f"\nwith {args.workers} worker processes (documents/s, all workers)")
    for label, data in files.items():
        per_worker = max(1, int(single[label] * args.seconds))
        ours_par = parallel_rate("ours", data, args.workers, per_worker, pki.root.cert_der)
        plain_par = parallel_rate("plain", data, args.workers, per_worker, pki.root.cert_der)
        print(f"{label:24s} {ours_par:11.1f} {plain_par:10.1f} {ours_par / plain_par:6.2f}")


if __name__ == "__main__":
    main()
