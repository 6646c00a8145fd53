"""Where each event type travels: one topic exchange, one durable queue per consuming service."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.envelope import Event
from contracts.events import (
    AppraisalRecorded,
    DocumentLinked,
    DocumentUnlinked,
    EvidenceVerified,
    Published,
    RankingUpdated,
    ResultCorrected,
    ScoreUpdated,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    UnitRegistered,
)

EXCHANGE = "kiemchung.events"
DEAD_LETTER_EXCHANGE = "kiemchung.dead-letter"


class Service(StrEnum):
    EVIDENCE_VERIFIER = "evidence-verifier"
    INDEXER = "indexer"
    SCORING = "scoring"


CONSUMES: dict[Service, tuple[type[Event], ...]] = {
    # UnitRegistered, DocumentUnlinked and SupplementRequested feed the evidence register (level
    # and names; removals; what the council asked for after the deadline).
    Service.EVIDENCE_VERIFIER: (UnitRegistered, DocumentLinked, DocumentUnlinked, SupplementRequested),
    Service.INDEXER: (UnitRegistered, EvidenceVerified, DocumentUnlinked),
    Service.SCORING: (
        UnitRegistered,
        SelfScoreEntered,
        EvidenceVerified,
        DocumentUnlinked,
        Submitted,
        AppraisalRecorded,
        SupplementRequested,
        SurveyResultsImported,
        Published,
        ResultCorrected,
    ),
}

PRODUCES: dict[Service, tuple[type[Event], ...]] = {
    Service.EVIDENCE_VERIFIER: (EvidenceVerified,),
    Service.INDEXER: (),
    Service.SCORING: (ScoreUpdated, RankingUpdated),
}


@dataclass(frozen=True)
class Route:
    exchange: str
    queue: str
    dead_letter_queue: str
    binding_keys: tuple[str, ...]


def route_for(service: Service) -> Route:
    # Bind every version of a type ("DocumentLinked.*") so an unknown version reaches the
    # consumer and is dead-lettered with a reason instead of silently vanishing.
    keys = tuple(sorted({f"{event.TYPE}.*" for event in CONSUMES[service]}))
    return Route(
        exchange=EXCHANGE,
        queue=f"kiemchung.{service.value}",
        dead_letter_queue=f"kiemchung.{service.value}.dlq",
        binding_keys=keys,
    )


def consumers_of(event_type: str) -> tuple[Service, ...]:
    return tuple(s for s, types in CONSUMES.items() if any(event_type == t.TYPE for t in types))


def routing_key_of(event: Event) -> str:
    return f"{event.type}.v{event.schema_version}"
