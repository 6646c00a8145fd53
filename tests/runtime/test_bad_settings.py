"""A KIEMCHUNG_* setting that does not parse is one line naming it (exit 2), not a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiemchung.cli import main
from kiemchung.runtime.settings import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("KIEMCHUNG_TRUST_DIRS", "/etc/trust", "trust_dirs"),  # a list must be JSON
        ("KIEMCHUNG_SEARCH_DEADLINE_SECONDS", "năm giây", "search_deadline_seconds"),
    ],
)
def test_a_setting_that_does_not_parse_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["search", "kế hoạch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kiemchung: bad_setting: ")
    assert named in err
    assert "Traceback" not in err
    assert err.count("\n") == 1
