"""The verifier's adapter: claim-check fetch + verification, from settings, for the handlers."""

from __future__ import annotations

import asyncio
import time

import httpx

from contracts.events import DocumentLinked
from kiemchung.runtime.clock import Clock
from kiemchung.runtime.messaging import Deferral
from kiemchung.runtime.metrics import VERIFICATION_SECONDS
from kiemchung.runtime.settings import Settings
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.fetch import FetchPolicy, fetch, new_client
from services.evidence_verifier.handlers import CheckDocument, Checked
from services.evidence_verifier.isolation import verify_isolated_async
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.policy import Expectations, OrganisationDetection, VerifierPolicy
from services.evidence_verifier.trust import load_trust_roots
from services.evidence_verifier.verify import failed_report

# Why a link waits (messaging_deferred.reason): the e-office system holding it did not answer.
FETCH_UNAVAILABLE = "FETCH_UNAVAILABLE"
FETCH_STAGE = "fetch"  # kiemchung_verification_stage_seconds{stage}


def build_checker(settings: Settings, clock: Clock) -> CheckDocument:
    roots = load_trust_roots(settings.trust_dirs)
    limits = Limits(
        max_bytes=settings.max_document_bytes,
        max_pages=settings.max_pages,
        timeout_seconds=settings.verify_timeout_seconds,
        memory_mb=settings.verify_memory_mb,
        workers=settings.verify_workers,
        max_signatures=settings.verify_max_signatures,
        max_page_objects=settings.verify_max_page_objects,
    )
    fetch_policy = FetchPolicy(
        allowed_hosts=frozenset(settings.fetch_allowed_hosts),
        http_hosts=frozenset(settings.fetch_http_hosts),
        private_hosts=frozenset(settings.fetch_private_hosts),
        file_base_dir=settings.fetch_file_root,
        extra_ca_pem=tuple(path.read_text(encoding="ascii") for path in settings.fetch_ca_files),
        max_bytes=settings.max_document_bytes,
        timeout_seconds=settings.fetch_timeout_seconds,
    )

    detection = OrganisationDetection(
        organisation_oids=frozenset(settings.organisation_policy_oids),
        person_oids=frozenset(settings.person_policy_oids),
    )

    # One client for the running event loop (a worker has one; the embedded runtime may run
    # several in turn, and a client's connections belong to the loop that opened them).
    current: list[tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = []

    def client_for_loop() -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if not current or current[0][0] is not loop or current[0][1].is_closed:
            current[:] = [(loop, new_client(fetch_policy))]
        return current[0][1]

    async def check(event: DocumentLinked) -> Checked | Deferral:
        started = time.perf_counter()
        try:
            data = await fetch(
                event.fetch_url, policy=fetch_policy, expected_sha256=event.sha256, client=client_for_loop()
            )
        except FetchError as exc:
            VERIFICATION_SECONDS.labels(FETCH_STAGE).observe(time.perf_counter() - started)
            failed = Checked(failed_report(event.fetch_url, exc.reason, sha256=None), "")
            if exc.unavailable:
                # E-office is down: wait and fetch again; the failure verdict only if it never returns.
                return Deferral(reason=FETCH_UNAVAILABLE, detail=str(exc), fallback=failed)
            return failed
        VERIFICATION_SECONDS.labels(FETCH_STAGE).observe(time.perf_counter() - started)
        policy = VerifierPolicy(
            trust_roots=roots,
            now=clock(),
            organisation=detection,
            allow_sha1=settings.allow_legacy_sha1,
            limits=limits,
        )
        expected = Expectations(number=event.number, year=event.year, sha256=event.sha256)
        outcome = await verify_isolated_async(data, name=event.fetch_url, policy=policy, expected=expected)
        for stage, seconds in outcome.stages:
            VERIFICATION_SECONDS.labels(stage).observe(seconds)
        return Checked(outcome.report, outcome.text)

    return check
