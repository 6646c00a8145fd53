"""Files only the service's user may read: the data directory 0700, database files 0600.

The ledger, the evidence index and the stored PDFs hold every unit's data; a world-readable
`kiemchung.db` in a 0755 directory would show it to any local account.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; an existing directory keeps its mode."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as 0600 if it does not exist (before SQLite opens it: SQLite gives
    its -wal and -shm files the database file's mode)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path
