"""`kiemchung link edxml FILE ...`: link a document received as edXML to a criterion as evidence."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aio_pika.exceptions import AMQPError

from contracts.vocabulary import Decision
from kiemchung.ingress.delivery import Published, Verdict, publish_to_rabbit, verify_embedded
from kiemchung.ingress.errors import IngressError
from kiemchung.ingress.linking import EDOCS_DIR_NAME, Linked, link_edxml_file
from kiemchung.ingress.mapping import LinkRequest
from kiemchung.runtime.clock import Clock, IdSource, random_ids, system_clock
from kiemchung.runtime.messaging import EventFactory
from kiemchung.runtime.settings import Runtime, Settings

EXIT_ACCEPTED: Final = 0  # accepted, or (distributed) published and confirmed
EXIT_NOT_ACCEPTED: Final = 1
EXIT_INPUT: Final = 2  # the file, or the link request, cannot become a link
EXIT_NO_VERDICT: Final = 3  # delivery failed or the verifier dead-lettered the link
PRODUCER_SUFFIX: Final = "ingress"


@dataclass(frozen=True)
class LinkOutcome:
    linked: Linked
    verdict: Verdict | None = None
    published: Published | None = None


async def run_link_edxml(
    path: Path,
    request: LinkRequest,
    settings: Settings,
    *,
    clock: Clock = system_clock,
    ids: IdSource = random_ids,
) -> LinkOutcome:
    """Parse and store, then verify in process (embedded) or publish to RabbitMQ (distributed)."""
    edocs = settings.data_dir / EDOCS_DIR_NAME
    events = EventFactory(f"{settings.producer_name}.{PRODUCER_SUFFIX}", clock, ids)
    linked = await asyncio.to_thread(lambda: link_edxml_file(path, request, edocs, events))
    if settings.runtime is Runtime.DISTRIBUTED:
        return LinkOutcome(linked, published=await publish_to_rabbit(linked.event, settings.broker_url))
    # The verifier reads file:// claim checks only under this root.
    embedded = settings.model_copy(update={"fetch_file_root": edocs})
    verdict = await verify_embedded(linked.event, embedded, clock=clock, ids=ids)
    return LinkOutcome(linked, verdict=verdict)


def outcome_as_dict(outcome: LinkOutcome) -> dict[str, Any]:
    event = outcome.linked.event
    result: dict[str, Any] = {
        "link_id": str(event.link_id),
        "unit_id": event.unit_id,
        "year": event.year,
        "criterion_code": event.criterion_code,
        "document_id": event.document_id,
        "number": event.number,
        "issuer": event.issuer,
        "issued_on": event.issued_on.isoformat() if event.issued_on else None,
        "title": event.title,
        "business_type": outcome.linked.document.business_type.name.lower(),
        "attachment": outcome.linked.attachment.name,
        "sha256": event.sha256,
        "fetch_url": event.fetch_url,
    }
    if outcome.verdict is not None:
        result["decision"] = outcome.verdict.decision.value
        result["reasons"] = [reason.value for reason in outcome.verdict.reasons]
    if outcome.published is not None:
        result["published"] = {
            "exchange": outcome.published.exchange,
            "routing_key": outcome.published.routing_key,
            "event_id": outcome.published.event_id,
        }
    return result


def render_text(outcome: LinkOutcome) -> str:
    event = outcome.linked.event
    lines = [
        f"Văn bản {event.number} — {event.issuer}, ngày {event.issued_on}",
        f"  {event.title}",
        f"Liên kết tiêu chí {event.criterion_code}, đơn vị {event.unit_id}, năm {event.year}"
        f" (link {event.link_id})",
        f"PDF: {outcome.linked.attachment.name} → {outcome.linked.stored.path} (sha256 {event.sha256})",
    ]
    if outcome.published is not None:
        lines.append(
            f"published to {outcome.published.exchange} as {outcome.published.routing_key} "
            f"(event {outcome.published.event_id}), confirmed by the broker"
        )
    elif outcome.verdict is None:
        lines.append("no verdict: the verifier could not process the link (see dead letters)")
    else:
        lines.append(f"verdict: {outcome.verdict.decision.value}")
        lines.extend(f"  - {reason.value}: {reason.vietnamese}" for reason in outcome.verdict.reasons)
    return "\n".join(lines)


def exit_code_of(outcome: LinkOutcome) -> int:
    if outcome.published is not None:
        return EXIT_ACCEPTED
    if outcome.verdict is None:
        return EXIT_NO_VERDICT
    return EXIT_ACCEPTED if outcome.verdict.decision is Decision.ACCEPTED else EXIT_NOT_ACCEPTED


def _cmd_link_edxml(args: argparse.Namespace) -> int:
    from kiemchung.runtime.settings import get_settings

    request = LinkRequest(unit_id=args.unit, criterion_code=args.criterion, year=args.year, linked_by=args.by)
    try:
        outcome = asyncio.run(run_link_edxml(Path(args.file), request, get_settings()))
    except IngressError as exc:
        if args.json:
            print(json.dumps({"error": exc.reason.value, "detail": exc.detail}, ensure_ascii=False))
        else:
            print(f"{exc.reason.value}: {exc.reason.english} {exc.detail}", file=sys.stderr)
        return EXIT_INPUT
    except (OSError, AMQPError) as exc:  # unreadable file, unwritable data dir, broker refused or away
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_VERDICT
    if args.json:
        print(json.dumps(outcome_as_dict(outcome), ensure_ascii=False, indent=2))
    else:
        print(render_text(outcome))
    return exit_code_of(outcome)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    link = subparsers.add_parser("link", help="link an e-office document to a criterion as evidence")
    link_sub = link.add_subparsers(dest="link_command", required=True)
    edxml = link_sub.add_parser(
        "edxml",
        help="from an edXML message (QCVN 102:2016): store its PDF, send DocumentLinked, show the verdict",
    )
    edxml.add_argument("file", help="the .edxml message")
    edxml.add_argument("--unit", required=True, help="the unit whose evidence this is")
    edxml.add_argument("--criterion", required=True, help="criterion leaf code, e.g. 1.1.2")
    edxml.add_argument("--year", required=True, type=int, help="the scored year")
    edxml.add_argument("--by", required=True, help="the user who links the document")
    edxml.add_argument("--json", action="store_true", help="print the result as JSON")
    edxml.set_defaults(func=_cmd_link_edxml)
