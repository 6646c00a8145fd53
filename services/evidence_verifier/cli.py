"""`kiemchung verify PATH...`: verify evidence files from the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from contracts.report import VerificationReport
from contracts.vocabulary import Decision, ReasonCode
from services.evidence_verifier.errors import VerifierError
from services.evidence_verifier.isolation import verify_isolated
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.trust import load_trust_roots
from services.evidence_verifier.verify import failed_report

EXIT_ACCEPTED, EXIT_NOT_ACCEPTED, EXIT_USAGE = 0, 1, 2
DEFAULT_TRUST_ENV_HINT = "give --trust DIR (a directory of PEM/DER root certificates)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("verify", help="verify signed evidence PDFs (tài liệu kiểm chứng)")
    parser.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    parser.add_argument("--json", action="store_true", help="one VerificationReport JSON object per line")
    parser.add_argument("--trust", action="append", default=[], type=Path, metavar="DIR")
    parser.add_argument("--year", type=int, help="the scored year")
    parser.add_argument("--number", help='the number e-office reports, e.g. "15/KH-UBND"')
    parser.add_argument(
        "--allow-sha1",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="accept the legacy SHA-1 government chain (reported as WEAK_ALGORITHM_ACCEPTED)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    if not args.trust:
        print(f"kiemchung verify: {DEFAULT_TRUST_ENV_HINT}", file=sys.stderr)
        return EXIT_USAGE
    try:
        roots = load_trust_roots(args.trust)
    except (VerifierError, ValueError) as exc:
        print(f"kiemchung verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    missing = [p for p in args.paths if not p.is_file()]
    if missing:
        print(f"kiemchung verify: no such file: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_USAGE
    policy = VerifierPolicy(trust_roots=roots, now=datetime.now(UTC), allow_sha1=args.allow_sha1)
    expected = Expectations(number=args.number, year=args.year)
    all_accepted = True
    for path in args.paths:
        # Each file in a killable worker: a hostile PDF costs a verdict, never the command.
        # Size first, then the path (not the bytes) to the worker: a 1 GiB file is never read.
        if path.stat().st_size > policy.limits.max_bytes:
            report = failed_report(str(path), ReasonCode.TOO_LARGE)
        else:
            report = verify_isolated(path, name=str(path), policy=policy, expected=expected).report
        all_accepted &= report.decision is Decision.ACCEPTED
        print(report.model_dump_json() if args.json else summary(report))
    return EXIT_ACCEPTED if all_accepted else EXIT_NOT_ACCEPTED


def summary(report: VerificationReport) -> str:
    lines = [f"{report.file}: {report.decision.value.upper()}"]
    for code in report.reasons:
        lines.append(f"  - {code.value}: {code.english} / {code.vietnamese}")
    for sig in report.signatures:
        who = sig.signer.common_name or sig.signer.serial
        when = sig.signing_time.isoformat() if sig.signing_time else "?"
        stamp = "timestamped" if sig.timestamped else "claimed time"
        lines.append(
            f"  signature {sig.field}: {who} ({sig.kind.value}), {sig.indication.value}, "
            f"{when} ({stamp}), changes after: {sig.modified_after.value}"
        )
    doc = report.document
    lines.append(
        f"  document: number {doc.number or '?'}, issued {doc.issued_on or '?'}, pages {doc.pages}, "
        f"scanned {doc.scanned}, text {doc.text_layer.value if doc.text_layer else '?'}"
    )
    return "\n".join(lines)
