"""Benchmark: what the visual check of changes after signing costs, file by file.

    .venv/bin/python bench/render_check.py [--rounds 15]

For each file: CPU milliseconds of one `verify_bytes` with every check on, the same with the
visual check switched off (the judgement of visible changes replaced by "nothing changed"), the
difference, and how many page renders the check made. Medians of `--rounds` alternating runs of
this process's CPU time (robust to other load on a shared machine).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.evidence_verifier import signatures, visual_check
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import demo_units, spec_for
from services.evidence_verifier.testkit.pki import TestPKI, generate_pki
from services.evidence_verifier.testkit.timestamps import add_document_timestamp
from services.evidence_verifier.verify import verify_bytes
from tests.evidence_verifier import shadow

NOW = datetime(2024, 3, 12, 9, tzinfo=UTC)
PAGES = 20
LTA_SIGNATURES = 25
VISIBLE_SIGNATURES = 10
MS = 1000.0


def corpus(pki: TestPKI) -> dict[str, bytes]:
    unit = pki.units[0]
    options = docs.SignOptions(signing_time=NOW, tsa=pki.tsa)
    spec = spec_for(unit)
    plain = docs.make_document(spec)
    signed = docs.sign_pdf(plain, unit.organisation, options)
    person_first = docs.sign_pdf(
        shadow.with_empty_field_on_blank(plain), unit.person, replace(options, field_name="ChuKyCaNhan")
    )
    long_doc = docs.sign_pdf(docs.make_document(replace(spec, pages=PAGES)), unit.organisation, options)
    lta = plain
    for i in range(LTA_SIGNATURES):
        signer = pki.units[i % len(pki.units)].organisation
        lta = docs.sign_pdf(lta, signer, replace(options, field_name=f"ChuKy{i}"))
        lta = docs.add_revocation_data(lta, crl_der=pki.crl_der)
        lta = add_document_timestamp(lta, pki.tsa, NOW + timedelta(minutes=i), field_name=f"DauThoiGian{i}")
    visible = plain
    for i in range(VISIBLE_SIGNATURES):  # two rows of stamps at the bottom of page 1
        left, bottom = 40.0 + 105.0 * (i % 5), 60.0 + 60.0 * (i // 5)
        signer = pki.units[i % len(pki.units)].organisation
        box = (left, bottom, left + 100.0, bottom + 50.0)
        visible = shadow.sign_visible(visible, signer, field=f"Ky{i}", box=box, options=options)
    return {
        "1 signature (covers the file)": signed,
        f"{VISIBLE_SIGNATURES} visible signatures side by side": visible,
        "2 invisible signatures": docs.sign_organisation_and_person(
            plain, unit.organisation, unit.person, options
        ),
        "visible approval signature": shadow.sign_visible(
            signed, pki.units[1].organisation, field="PheDuyet", box=shadow.BLANK_BOX, options=options
        ),
        "form filled, signed again": docs.sign_pdf(
            shadow.fill_field(person_first), unit.organisation, options
        ),
        "20 pages, visible 2nd signature": shadow.sign_visible(
            long_doc, pki.units[1].organisation, field="PheDuyet", box=shadow.BLANK_BOX, options=options
        ),
        f"{LTA_SIGNATURES} signatures + DSS + doc timestamps": lta,
        "attack: field filled over the number": shadow.fill_field_over_number(
            docs.sign_pdf(shadow.with_empty_field_over_number(plain), unit.organisation, options)
        ),
    }


def _cpu_ms(data: bytes, name: str, policy: VerifierPolicy, expected: Expectations) -> tuple[float, str]:
    started = time.process_time()
    report = verify_bytes(data, name=name, policy=policy, expected=expected).report
    return (time.process_time() - started) * MS, report.decision.value


def _skip(
    outcomes: list[signatures.SignatureOutcome], visual: visual_check.VisualCheck
) -> list[signatures.SignatureOutcome]:
    return outcomes  # the visual check switched off: pyHanko's verdicts stand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    pki = generate_pki(demo_units(2), NOW)
    roots = tuple(c.cert_der for c in pki.trusted_roots)
    policy = VerifierPolicy(trust_roots=roots, now=NOW + timedelta(days=3))
    expected = Expectations(number="15/KH-UBND", year=2024)
    judge = signatures._judge_visible_changes
    renders: list[int] = []

    class Counting(visual_check.VisualCheck):
        def _render_page(self, end: int, index: int, annotations: bool = True) -> Any:
            renders.append(index)
            return super()._render_page(end, index, annotations)

    module = vars(signatures)  # the bench swaps the check's parts in the verifier's module
    module["VisualCheck"] = Counting
    print(f"{'file':45} {'with':>9} {'without':>9} {'check':>8} {'renders':>8}  decision")
    for name, data in corpus(pki).items():
        with_check: list[float] = []
        without: list[float] = []
        for _ in range(args.rounds):
            renders.clear()
            module["_judge_visible_changes"] = judge
            cpu, decision = _cpu_ms(data, name, policy, expected)
            with_check.append(cpu)
            count = len(renders)
            module["_judge_visible_changes"] = _skip
            without.append(_cpu_ms(data, name, policy, expected)[0])
        module["_judge_visible_changes"] = judge
        a, b = statistics.median(with_check), statistics.median(without)
        print(f"{name:45} {a:8.1f}ms {b:8.1f}ms {a - b:7.1f}ms {count:8d}  {decision}")


if __name__ == "__main__":
    main()
