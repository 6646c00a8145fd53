"""Everything the pages need, built once by the composition root (kiemchung/api.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from kiemchung.runtime.clock import Clock
from kiemchung.runtime.messaging import EventFactory
from kiemchung.web.commands import CommandSink
from kiemchung.web.documents import PageRenderer
from kiemchung.web.session import SessionCodec
from kiemchung.web.uploads import UploadStore
from services.indexer.port import SearchIndex
from services.scoring.access import KeyRing
from services.scoring.service import CriteriaCatalogue


@dataclass(frozen=True)
class WebContext:
    sessions: sessionmaker[Session]
    catalogue: CriteriaCatalogue
    search: SearchIndex | None
    keys: KeyRing
    clock: Clock
    codec: SessionCodec
    renderer: PageRenderer
    commands: CommandSink | None  # None: a read-only deployment (writes are refused)
    events: EventFactory
    uploads: UploadStore  # tables kept between an import's preview and its commit
    secure_cookies: bool = False
