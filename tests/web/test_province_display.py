"""A province that prints three decimals (Thừa Thiên Huế publishes 97,685): the unit page and the
rankings page print the index as the province does, with its rating band, in a real browser.

The demo province is served here with a rules file for its year that takes Thừa Thiên Huế's
display (three decimals, decimal comma); the band thresholds are the test's own (the decision's
are not in the public copies).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, expect

from kiemchung.demo import DEMO_YEAR, UNITS
from services.scoring.access import Role
from services.scoring.rules import parse_rules
from tests.web.conftest import Site, demo_site, serious_violations, shoot, signed_in

pytestmark = pytest.mark.browser

RULES: dict[str, Any] = {
    "province": "thuathienhue",
    "name": "Thừa Thiên Huế",
    "year": DEMO_YEAR,
    "display": {"decimals": 3, "decimal_comma": True},
    "bands": [
        {"name": "Xuất sắc", "min": 90},
        {"name": "Tốt", "min": 80},
        {"name": "Khá", "min": 70},
        {"name": "Trung bình", "min": 50},
        {"name": "Yếu", "min": 0},
    ],
    # Vĩnh Phúc-style ranking groups (its 2019 results rank departments apart from central agencies).
    "groups": [{"id": "so-nganh", "name": "Sở, ban, ngành", "level": "department"}],
    "units": {unit.unit_id: {"group": "so-nganh"} for unit in UNITS if unit.ranked},
}
THREE_DECIMALS_WITH_COMMA = re.compile(r"^\d{1,3},\d{3}$")
TWO_DECIMALS_WITH_COMMA = re.compile(r"^\d{1,3},\d{2}$")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Overrides conftest's `site` for this module: the demo with the three-decimal rules."""
    criteria = tmp_path_factory.mktemp("hue-criteria")  # apart: the demo empties its workdir
    (criteria / "provinces").mkdir()
    text = yaml.safe_dump(RULES, allow_unicode=True)
    (criteria / "provinces" / f"thuathienhue-{DEMO_YEAR}.yaml").write_text(text, encoding="utf-8")
    yield from demo_site(tmp_path_factory.mktemp("web-hue"), criteria)


def test_unit_page_and_rankings_print_three_decimals_with_a_comma_and_the_band(
    browser: Browser, site: Site
) -> None:
    unit_id = UNITS[0].unit_id
    page = signed_in(browser, site, Role.UNIT)
    expect(page).to_have_url(re.compile(rf"/ui/units/{unit_id}"))
    api = page.request.get(
        f"{site.url}/units/{unit_id}/scores/{DEMO_YEAR}",
        headers={"X-API-Key": site.keys[Role.UNIT].plaintext},
    )
    assert api.ok
    exact = Decimal(api.json()["index"]["exact"])
    rules = parse_rules(RULES)
    printed, band = rules.text(exact), rules.band(exact)
    assert THREE_DECIMALS_WITH_COMMA.match(printed), printed
    assert band is not None

    expect(page.locator("#unit-index")).to_have_text(printed)
    expect(page.locator("#unit-band")).to_have_text(band)
    # Points keep their two decimals but take the province's decimal comma too, so the page never
    # mixes "59,500" with "59.50 / 100.00"; the API keeps the exact values with a point.
    scores = api.json()
    points = f"{scores['achieved']['display']} / {scores['maximum']['display']}"
    assert "." in points
    expect(page.locator("#unit-points")).to_have_text(points.replace(".", ","))
    components = page.locator("table").filter(has_text="Chỉ số thành phần").locator("tbody td.num")
    cells = components.all_inner_texts()
    for cell in cells[2::3]:  # maximum, achieved, index per row
        assert cell == "—" or THREE_DECIMALS_WITH_COMMA.match(cell), cell
    for cell in cells[0::3] + cells[1::3]:
        assert TWO_DECIMALS_WITH_COMMA.match(cell), cell
    assert serious_violations(page) == []
    shoot(page, "unit-three-decimals")
    page.context.close()

    province = signed_in(browser, site, Role.PROVINCE)
    table = province.locator("#ranking-department")
    expect(table.locator("thead")).to_contain_text("Xếp loại")
    row = table.locator("tr", has_text=UNITS[0].name)
    expect(row).to_contain_text(printed)
    expect(row).to_contain_text(band)
    expect(table.locator("thead")).to_contain_text("Hạng trong nhóm")
    rank = row.locator("td").first.inner_text()
    expect(row.locator("td").nth(3)).to_have_text("Sở, ban, ngành")
    expect(row.locator("td").nth(4)).to_have_text(rank)  # one group: the same rank within it
    assert serious_violations(province) == []
    shoot(province, "province-three-decimals")
    apart = next(unit for unit in UNITS if not unit.ranked)  # seed 003's Ban Dân tộc
    province.goto(f"{site.url}/ui/units/{apart.unit_id}?year={DEMO_YEAR}")
    expect(province.locator("#unit-not-ranked")).to_have_text("Đánh giá, không xếp hạng")
    expect(province.locator("#unit-index")).to_have_text(THREE_DECIMALS_WITH_COMMA)
    province.context.close()
