"""The province corrects a published result from the unit's page (issue 13), in a real browser.

Seeds 003/004: once the department results are published, the unit's page offers the province a
correction form (criterion, corrected points, the correcting decision, why); the correction is
listed with its decision and the index before and after; a correction the ledger refuses shows
its reason code.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from kiemchung.demo import DEMO_YEAR, UNITS
from services.scoring.access import Role
from tests.web.conftest import Site, serious_violations, shoot, signed_in

pytestmark = pytest.mark.browser


def test_province_publishes_then_corrects_a_result_on_the_unit_page(browser: Browser, site: Site) -> None:
    unit = UNITS[0]  # Sở Nội vụ submitted in the demo
    page = signed_in(browser, site, Role.PROVINCE)
    page.goto(f"{site.url}/ui/units/{unit.unit_id}?year={DEMO_YEAR}")
    expect(page.locator("#correction-form")).to_have_count(0)  # not published yet
    page.goto(f"{site.url}/ui/province?year={DEMO_YEAR}")
    form = page.locator("form[action$='/publish']").filter(has=page.locator("input[value='department']"))
    form.get_by_label("Số quyết định công bố").fill("99/QĐ-UBND")
    form.get_by_role("button", name="Công bố kết quả").click()
    page.wait_for_load_state()

    page.goto(f"{site.url}/ui/units/{unit.unit_id}?year={DEMO_YEAR}")
    before = page.locator("#unit-index").inner_text()
    correction = page.locator("#correction-form")
    correction.get_by_label("Tiêu chí").fill("1.2")
    correction.get_by_label("Điểm sau đính chính").fill("0")
    correction.get_by_label("Số quyết định đính chính").fill("215/QĐ-UBND")
    correction.get_by_label("Lý do đính chính").fill("Phúc tra")
    correction.get_by_role("button", name="Đính chính").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(rf"/ui/units/{unit.unit_id}\?year={DEMO_YEAR}&ok=ResultCorrected"))
    row = page.locator("#corrections tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("215/QĐ-UBND")
    expect(row).to_contain_text("Phúc tra")
    assert page.locator("#unit-index").inner_text() != before
    assert serious_violations(page) == []
    shoot(page, "unit-corrected")

    # Points above the leaf's maximum: refused by the ledger, with its reason code.
    correction = page.locator("#correction-form")
    correction.get_by_label("Tiêu chí").fill("1.2")
    correction.get_by_label("Điểm sau đính chính").fill("99")
    correction.get_by_label("Số quyết định đính chính").fill("216/QĐ-UBND")
    correction.get_by_label("Lý do đính chính").fill("Nhập sai")
    correction.get_by_role("button", name="Đính chính").click()
    page.wait_for_load_state()
    expect(page.locator(".flash.refused")).to_contain_text("points_out_of_range")
    expect(page.locator("#corrections tbody tr")).to_have_count(1)
    page.context.close()

    # A unit key sees the history but no form.
    own = signed_in(browser, site, Role.UNIT)
    own.goto(f"{site.url}/ui/units/{unit.unit_id}?year={DEMO_YEAR}")
    expect(own.locator("#corrections tbody tr")).to_have_count(1)
    expect(own.locator("#correction-form")).to_have_count(0)
    own.context.close()
