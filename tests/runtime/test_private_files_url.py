"""An in-memory SQLite URL creates no file; a file URL creates its database file 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiemchung.runtime.db import make_engine


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_url_creates_no_file(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_engine(url).dispose()
    assert list(tmp_path.iterdir()) == []


def test_file_url_creates_private_database(tmp_path: Path) -> None:
    db = tmp_path / "data" / "kiemchung.db"
    make_engine(f"sqlite:///{db}").dispose()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700
