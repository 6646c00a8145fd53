"""Content-addressed storage of evidence PDFs: the file name is the SHA-256 of the bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiemchung.runtime.private_files import private_dir

STORED_SUFFIX: Final = ".pdf"


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str

    @property
    def uri(self) -> str:
        return self.path.resolve().as_uri()


def store_content_addressed(root: Path, data: bytes) -> StoredFile:
    """Write `data` once under `root`; storing the same bytes again changes nothing."""
    return store_content_addressed_chunks(root, (data,), hashlib.sha256(data).hexdigest(), len(data))


def store_content_addressed_chunks(root: Path, chunks: Iterable[bytes], digest: str, size: int) -> StoredFile:
    """Like `store_content_addressed` for content that is already hashed and comes in chunks
    (a large attachment is never held whole in memory)."""
    private_dir(root)
    target = root / f"{digest}{STORED_SUFFIX}"
    if target.is_file() and target.stat().st_size == size:
        return StoredFile(target, digest)
    # Write to a temporary file and rename, so a reader never sees a half-written PDF.
    fd, temporary = tempfile.mkstemp(dir=root, prefix=".incoming-", suffix=STORED_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredFile(target, digest)
