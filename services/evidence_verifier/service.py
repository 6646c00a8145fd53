"""The verifier's adapter: claim-check fetch + verification, from settings, for the handlers."""

from __future__ import annotations

from contracts.events import DocumentLinked
from kiemchung.clock import Clock
from kiemchung.settings import Settings
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.fetch import FetchPolicy, fetch
from services.evidence_verifier.handlers import CheckDocument, Checked
from services.evidence_verifier.isolation import verify_isolated_async
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.policy import Expectations, OrganisationDetection, VerifierPolicy
from services.evidence_verifier.trust import load_trust_roots
from services.evidence_verifier.verify import failed_report


def build_checker(settings: Settings, clock: Clock) -> CheckDocument:
    roots = load_trust_roots(settings.trust_dirs)
    limits = Limits(
        max_bytes=settings.max_document_bytes,
        max_pages=settings.max_pages,
        timeout_seconds=settings.verify_timeout_seconds,
        memory_mb=settings.verify_memory_mb,
    )
    fetch_policy = FetchPolicy(
        allowed_hosts=frozenset(settings.fetch_allowed_hosts),
        http_hosts=frozenset(settings.fetch_http_hosts),
        private_hosts=frozenset(settings.fetch_private_hosts),
        file_base_dir=settings.fetch_file_root,
        extra_ca_pem=tuple(path.read_text(encoding="ascii") for path in settings.fetch_ca_files),
        max_bytes=settings.max_document_bytes,
    )

    detection = OrganisationDetection(
        organisation_oids=frozenset(settings.organisation_policy_oids),
        person_oids=frozenset(settings.person_policy_oids),
    )

    async def check(event: DocumentLinked) -> Checked:
        try:
            data = await fetch(event.fetch_url, policy=fetch_policy, expected_sha256=event.sha256)
        except FetchError as exc:
            return Checked(failed_report(event.fetch_url, exc.reason, sha256=None), "")
        policy = VerifierPolicy(
            trust_roots=roots,
            now=clock(),
            organisation=detection,
            allow_sha1=settings.allow_legacy_sha1,
            limits=limits,
        )
        expected = Expectations(number=event.number, year=event.year, sha256=event.sha256)
        outcome = await verify_isolated_async(data, name=event.fetch_url, policy=policy, expected=expected)
        return Checked(outcome.report, outcome.text)

    return check
