"""How a published level-year is shown: frozen at publication, read back everywhere an index is
shown (issue 13: "the published years stay as published").

The year's rules file gives the index's decimals and decimal mark, the rating bands and the
ranking groups' names. The first publication of a level's year keeps them (`freeze_display`,
table scoring_published_displays); the API, the web pages and the workbook of that year then use
`display_rules`, whose group memberships are the units' frozen setups. An edit of the published
year's file is reported (`display_changes`, reason published_year_changed), never applied; a
correction changes results, not the display.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import Published
from contracts.events import PublishedDisplay as DisplayPayload
from criteria.model import Level
from services.scoring.core.published import (
    PublishedDisplay,
    display_differences,
    published_display,
    shown_as_published,
)
from services.scoring.core.rules import Band, ProvinceRules, RankingGroup, default_rules
from services.scoring.service import CriteriaCatalogue
from services.scoring.store import published_displays, published_setups


def _level(value: str) -> Level | None:
    try:
        return Level(value)
    except ValueError:
        return None


def freeze_display(
    conn: Connection, catalogue: CriteriaCatalogue, level: str, year: int, event: Event
) -> None:
    """Keep how the level's year is shown, once: when some unit-year of it is published (its
    setup frozen) and no display is kept yet."""
    as_level = _level(level)
    if as_level is None:
        return
    published = conn.execute(
        select(published_setups.c.unit_id)
        .where(published_setups.c.level == level, published_setups.c.year == year)
        .limit(1)
    ).first()
    kept = conn.execute(
        select(published_displays.c.year).where(
            published_displays.c.level == level, published_displays.c.year == year
        )
    ).first()
    if published is None or kept is not None:
        return
    given = event.display if isinstance(event, Published) else None
    # A replayed publication (`ledger export` writes it) shows as it was published then.
    shown = published_display(catalogue.rules.get(year), as_level) if given is None else from_payload(given)
    conn.execute(
        insert(published_displays).values(
            level=level,
            year=year,
            event_id=str(event.event_id),
            published_at=event.occurred_at,
            **_columns(shown),
        )
    )


def _columns(shown: PublishedDisplay) -> dict[str, Any]:
    return {
        "from_file": shown.from_file,
        "decimals": shown.decimals,
        "decimal_comma": shown.decimal_comma,
        "bands": [{"name": b.name, "min": str(b.minimum)} for b in shown.bands],
        "groups": [{"id": g.id, "name": g.name, "level": g.level.value} for g in shown.groups],
    }


def from_payload(given: DisplayPayload) -> PublishedDisplay:
    """A display as Published's `display` carries it."""
    return PublishedDisplay(
        from_file=given.from_file,
        decimals=given.decimals,
        decimal_comma=given.decimal_comma,
        bands=tuple(Band(b.name, b.minimum) for b in given.bands),
        groups=tuple(RankingGroup(g.id, g.name, Level(g.level.value)) for g in given.groups),
    )


def displays_by_event(session: Session) -> dict[str, dict[str, Any]]:
    """Each kept display as Published's `display` (JSON), by the publication's event id."""
    out: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(published_displays)).mappings():
        shown = _columns(_from_row(row))
        out[str(row["event_id"])] = {
            **shown,
            "bands": [{"name": b["name"], "minimum": b["min"]} for b in shown["bands"]],
        }
    return out


def _from_row(row: RowMapping) -> PublishedDisplay:
    return PublishedDisplay(
        from_file=bool(row["from_file"]),
        decimals=int(row["decimals"]),
        decimal_comma=bool(row["decimal_comma"]),
        bands=tuple(Band(str(b["name"]), Decimal(str(b["min"]))) for b in row["bands"]),
        groups=tuple(
            RankingGroup(str(g["id"]), str(g["name"]), Level(str(g["level"]))) for g in row["groups"]
        ),
    )


def frozen_display(session: Session, level: str, year: int) -> PublishedDisplay | None:
    """How the level's year was shown at publication; None when not published (or published
    before displays were kept: the year's file then decides, as it did)."""
    row = (
        session.execute(
            select(published_displays).where(
                published_displays.c.level == level, published_displays.c.year == year
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _from_row(row)


def frozen_displays(session: Session, year: int | None = None) -> dict[tuple[str, int], PublishedDisplay]:
    query = select(published_displays)
    if year is not None:
        query = query.where(published_displays.c.year == year)
    return {(row["level"], int(row["year"])): _from_row(row) for row in session.execute(query).mappings()}


def frozen_groups(session: Session, level: str, year: int) -> dict[str, str | None]:
    """Each published unit-year's ranking group as frozen with its setup."""
    rows = session.execute(
        select(published_setups.c.unit_id, published_setups.c.ranking_group).where(
            published_setups.c.level == level, published_setups.c.year == year
        )
    )
    return {str(r.unit_id): r.ranking_group for r in rows}


def display_rules(
    session: Session, catalogue: CriteriaCatalogue, level: str, year: int, *, groups: bool = True
) -> ProvinceRules | None:
    """The rules to show the level's year with: as published when it is, else the year's file
    (None without one). `groups=False` skips reading the frozen memberships (a unit's own page
    shows no group)."""
    rules = catalogue.rules.get(year)
    frozen = frozen_display(session, level, year)
    if frozen is None:
        return rules
    members = frozen_groups(session, level, year) if groups else {}
    return shown_as_published(rules, year, frozen, members)


def shown_rules(session: Session, catalogue: CriteriaCatalogue, level: str, year: int) -> ProvinceRules:
    """`display_rules` for one unit's figures, the default display without a file."""
    rules = display_rules(session, catalogue, level, year, groups=False)
    return rules if rules is not None else default_rules(year)


def display_changes(
    session: Session, catalogue: CriteriaCatalogue, year: int | None = None
) -> dict[tuple[str, int], tuple[str, ...]]:
    """Per published (level, year): the display fields its rules file now sets otherwise."""
    out: dict[tuple[str, int], tuple[str, ...]] = {}
    for (level, published_year), frozen in frozen_displays(session, year).items():
        as_level = _level(level)
        if as_level is None:
            continue
        now = published_display(catalogue.rules.get(published_year), as_level)
        fields = display_differences(frozen, now)
        if fields:
            out[(level, published_year)] = fields
    return out


def display_changes_of(
    session: Session, catalogue: CriteriaCatalogue, level: str, year: int
) -> tuple[str, ...]:
    """The display fields the file now sets otherwise for one published (level, year)."""
    frozen = frozen_display(session, level, year)
    as_level = _level(level)
    if frozen is None or as_level is None:
        return ()
    return display_differences(frozen, published_display(catalogue.rules.get(year), as_level))
