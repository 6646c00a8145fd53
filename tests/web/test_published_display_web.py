"""The web pages show a published year as it was published (issue 13), without a browser.

The demo province is served with Thừa Thiên Huế's display for its year (three decimals, a decimal
comma: 97,685) and the test's own bands and ranking group (Vĩnh Phúc 2019's shape). The province
publishes the department results from the rankings page; the year's file is then edited (two
decimals, a point, other bands, another group name) and the site restarted: the rankings page and
the unit page still print what was published, and the unit page names the edit
(`published_year_changed`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from kiemchung.api import serving_app
from kiemchung.demo import COUNCIL, DEMO_NOW, DEMO_YEAR, UNITS, build_demo
from kiemchung.demo_serving import demo_keys, write_serving_files
from kiemchung.runtime.clock import FrozenClock
from kiemchung.runtime.settings import Settings
from services.scoring.access import Role
from tests.web.conftest import DEMO_UNITS

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
RULES: dict[str, Any] = {
    "province": "thuathienhue",
    "name": "Thừa Thiên Huế",
    "year": DEMO_YEAR,
    "display": {"decimals": 3, "decimal_comma": True},
    "bands": [{"name": "Xuất sắc", "min": 90}, {"name": "Tốt", "min": 50}, {"name": "Yếu", "min": 0}],
    "groups": [{"id": "so-nganh", "name": "Sở, ban, ngành", "level": "department"}],
    "units": {unit.unit_id: {"group": "so-nganh"} for unit in UNITS[:DEMO_UNITS] if unit.ranked},
}
EDITED: dict[str, Any] = {
    **RULES,
    "display": {"decimals": 2, "decimal_comma": False},
    "bands": [{"name": "Hoàn thành", "min": 0}],
    "groups": [{"id": "so-nganh", "name": "Các sở", "level": "department"}],
}
ROW = re.compile(r"<tr><td class=\"num\">(\d+)</td><th scope=\"row\"><a [^>]*>([^<]+)</a></th>(.*?)</tr>")


def _write(criteria: Path, rules: dict[str, Any]) -> None:
    path = criteria / "provinces" / f"thuathienhue-{DEMO_YEAR}.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")


def _client(workdir: Path, criteria: Path) -> TestClient:
    settings = Settings(
        data_dir=workdir / "state",
        api_keys_file=workdir / "api-keys.json",
        fetch_file_root=workdir / "edocs",
        trust_dirs=[workdir / "trust"],
        web_session_secret="published-display-tests",
        criteria_dir=criteria,
    )
    clock = FrozenClock(DEMO_NOW + timedelta(days=1), step=timedelta(milliseconds=1))
    return TestClient(serving_app(settings, clock=clock))


def _sign_in(client: TestClient, key: str) -> str:
    assert client.post("/ui/signin", data={"key": key}, follow_redirects=False).status_code == 303
    found = CSRF.search(client.get("/ui/search").text)
    assert found is not None
    return found.group(1)


def _shown(client: TestClient) -> tuple[list[tuple[str, ...]], str, str]:
    """The department rankings' rows (rank, unit, the other cells' text) and the first unit's
    page: its index and points."""
    page = client.get(f"/ui/province?year={DEMO_YEAR}").text
    table = page.split('id="ranking-department"', 1)[1].split("</table>", 1)[0]
    rows = [
        (rank, name, *re.findall(r"<td[^>]*>([^<]*)</td>", rest)) for rank, name, rest in ROW.findall(table)
    ]
    unit = client.get(f"/ui/units/{UNITS[0].unit_id}?year={DEMO_YEAR}").text
    index = re.search(r'id="unit-index">([^<]+)<', unit)
    points = re.search(r'id="unit-points">([^<]+)<', unit)
    assert index is not None
    assert points is not None
    return rows, index.group(1), points.group(1) + ("|changed" if "published-year-changed" in unit else "")


def test_the_rankings_and_unit_pages_show_a_published_year_as_published_after_its_file_changes(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "site"
    build_demo(workdir, DEMO_UNITS, show_progress=False)
    keys = {k.role: k for k in demo_keys(COUNCIL, UNITS[0].unit_id)}
    write_serving_files(workdir, list(keys.values()), env_file=workdir / "kiemchung.env")
    criteria = tmp_path / "criteria"
    (criteria / "provinces").mkdir(parents=True)
    _write(criteria, RULES)
    with _client(workdir, criteria) as client:
        csrf = _sign_in(client, keys[Role.PROVINCE].plaintext)
        form = {"level": "department", "year": str(DEMO_YEAR), "decision_number": "99/QĐ-UBND", "csrf": csrf}
        assert client.post("/ui/publish", data=form, follow_redirects=False).status_code == 303
        published = _shown(client)
        assert 'id="published-year-changed"' not in client.get(f"/ui/province?year={DEMO_YEAR}").text
    rows, index, points = published
    assert rows
    assert all(re.fullmatch(r"\d{1,3},\d{3}", row[2]) for row in rows), rows
    assert {row[4] for row in rows} == {"Sở, ban, ngành"}
    assert re.fullmatch(r"\d{1,3},\d{3}", index), index
    assert "," in points
    assert "." not in points
    assert not points.endswith("|changed")

    _write(criteria, EDITED)
    with _client(workdir, criteria) as client:
        _sign_in(client, keys[Role.PROVINCE].plaintext)
        rows_after, index_after, points_after = _shown(client)
        province_page = client.get(f"/ui/province?year={DEMO_YEAR}").text
    assert (rows_after, index_after) == (rows, index)
    assert points_after == points + "|changed"
    # The province page says so too, once, naming the units and what differs: the office sees
    # the edit was not applied (a change to a published year needs a correction by decision).
    assert province_page.count('id="published-year-changed"') == 1
    banner = province_page.split('id="published-year-changed"', 1)[1].split("</section>", 1)[0]
    assert UNITS[0].name in banner
    assert "decimals" in banner
