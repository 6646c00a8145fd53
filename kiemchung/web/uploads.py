"""Uploaded tables kept between the preview (a dry run) and the commit ("Ghi nhận").

The bytes wait in a private directory (0700, files 0600) under a random token the server chose;
the commit form sends only the token, never a path. An upload belongs to the key that sent it,
expires after UPLOAD_TTL and is removed once committed; at most MAX_PENDING wait at a time (the
oldest is dropped first), so the directory stays bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from kiemchung.runtime.clock import Clock
from kiemchung.runtime.private_files import PRIVATE_FILE_MODE, private_dir

UPLOAD_TTL = timedelta(minutes=30)
MAX_PENDING = 20
TOKEN_BYTES = 16
_TOKEN = re.compile(r"[0-9a-f]{32}")
MAX_SHOWN_NAME = 120
DATA_SUFFIX = ".bin"
META_SUFFIX = ".json"


@dataclass(frozen=True)
class PendingUpload:
    token: str
    kind: str
    year: int | None
    filename: str  # the name as sent (shown, and its suffix tells the reader the format)
    owner: str  # the sending key's SHA-256
    sha256: str
    size: int
    stored_at: datetime


def shown_name(filename: str) -> str:
    """The file's own name without any directory, bounded (never used as a path here)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[-MAX_SHOWN_NAME:] or "upload"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


@dataclass(frozen=True)
class UploadStore:
    directory: Path
    clock: Clock

    def put(self, data: bytes, *, kind: str, year: int | None, filename: str, owner: str) -> PendingUpload:
        self.sweep()
        folder = private_dir(self.directory)
        pending = PendingUpload(
            token=secrets.token_hex(TOKEN_BYTES),
            kind=kind,
            year=year,
            filename=shown_name(filename),
            owner=owner,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            stored_at=self.clock(),
        )
        _write_private(folder / f"{pending.token}{DATA_SUFFIX}", data)
        meta = {**asdict(pending), "stored_at": pending.stored_at.isoformat()}
        _write_private(folder / f"{pending.token}{META_SUFFIX}", json.dumps(meta).encode("utf-8"))
        return pending

    def get(self, token: str, owner: str) -> tuple[PendingUpload, bytes] | None:
        """The upload and its bytes, if `token` names one of `owner`'s that has not expired."""
        if not _TOKEN.fullmatch(token):
            return None
        self.sweep()
        pending = self._meta(token)
        if pending is None or pending.owner != owner:
            return None
        if self.clock() - pending.stored_at > UPLOAD_TTL:
            self.discard(token)
            return None
        try:
            data = (self.directory / f"{token}{DATA_SUFFIX}").read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != pending.sha256:
            return None
        return pending, data

    def discard(self, token: str) -> None:
        if not _TOKEN.fullmatch(token):
            return
        for suffix in (DATA_SUFFIX, META_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{token}{suffix}").unlink()

    def sweep(self) -> None:
        """Remove expired uploads, then the oldest beyond MAX_PENDING - 1 (room for one more)."""
        if not self.directory.is_dir():
            return
        now = self.clock()
        live: list[PendingUpload] = []
        for path in self.directory.glob(f"*{META_SUFFIX}"):
            token = path.name.removesuffix(META_SUFFIX)
            pending = self._meta(token) if _TOKEN.fullmatch(token) else None
            if pending is None or now - pending.stored_at > UPLOAD_TTL:
                self.discard(token)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            else:
                live.append(pending)
        live.sort(key=lambda p: p.stored_at)
        for pending in live[: max(0, len(live) - (MAX_PENDING - 1))]:
            self.discard(pending.token)

    def _meta(self, token: str) -> PendingUpload | None:
        try:
            raw = json.loads((self.directory / f"{token}{META_SUFFIX}").read_text(encoding="utf-8"))
            return PendingUpload(
                token=str(raw["token"]),
                kind=str(raw["kind"]),
                year=None if raw["year"] is None else int(raw["year"]),
                filename=str(raw["filename"]),
                owner=str(raw["owner"]),
                sha256=str(raw["sha256"]),
                size=int(raw["size"]),
                stored_at=datetime.fromisoformat(str(raw["stored_at"])),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
