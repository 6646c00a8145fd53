"""Every page in a real browser, per role: the demo province appraised from Chromium alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from contracts.vocabulary import ReasonCode
from kiemchung.web.remedies import remedy
from services.scoring.access import Role
from tests.web.conftest import PHONE, Site, serious_violations, shoot, signed_in

pytestmark = pytest.mark.browser

LETTERED_LEAF = "1.3.1"  # the first demo unit's "…a/KH-…" document is linked here
APPRAISED_LEAF = "1.1"


def record(page: Page, unit_id: str, points: str, comment: str = "") -> None:
    line = page.locator(f"#unit-{unit_id}")
    line.get_by_label("Điểm", exact=True).fill(points)
    line.get_by_label("Nhận xét").fill(comment)
    line.get_by_role("button", name="Lưu").click()
    page.wait_for_load_state()


def test_appraiser_walks_a_criterion_opens_a_rejected_document_and_records(
    browser: Browser, site: Site
) -> None:
    page = signed_in(browser, site, Role.APPRAISER)
    expect(page).to_have_url(re.compile(r"/ui/council"))
    page.goto(f"{site.url}/ui/council?criterion={LETTERED_LEAF}")
    rows = page.locator("tr.unit-row")
    expect(rows).to_have_count(5)
    lettered = page.locator("#unit-so-noi-vu")
    expect(lettered.locator(".badge-rejected")).to_have_count(1)
    expect(lettered).to_contain_text(ReasonCode.LETTERED_NUMBER.vietnamese)
    assert serious_violations(page) == []
    shoot(page, "council")

    # Keyboard first: j moves down the units (into the points field), Escape, n = next criterion.
    page.keyboard.press("j")
    expect(rows.nth(0).locator("input[name=points]")).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1).locator("input[name=points]")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"criterion=1\.3\.2"))
    page.go_back()

    lettered = page.locator("#unit-so-noi-vu")
    lettered.locator(".docs a").first.click()
    expect(page).to_have_url(re.compile(r"/ui/documents/"))
    expect(page.locator("#reasons")).to_contain_text(ReasonCode.LETTERED_NUMBER.vietnamese)
    expect(page.locator(".sig")).not_to_have_count(0)
    image = page.locator(".page-image img")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('.page-image img').naturalWidth > 300")
    assert serious_violations(page) == []
    shoot(page, "document")

    page.goto(f"{site.url}/ui/council?criterion={APPRAISED_LEAF}")
    record(page, "so-tai-chinh", "7.5", "Kế hoạch đạt yêu cầu")
    expect(page.locator(".flash.ok")).to_be_visible()
    expect(page.locator("#unit-so-tai-chinh .appraised")).to_contain_text("7.5")
    shoot(page, "council-recorded")

    # Over the leaf's maximum: the form itself refuses (max and step come from the criteria set).
    record(page, "so-tai-chinh", "99")
    assert page.locator("#points-so-tai-chinh").evaluate("e => e.validity.rangeOverflow")
    # The fifth unit has not submitted: the ledger refuses, and the page says why.
    record(page, "ban-dan-toc", "5")
    expect(page.locator(".flash.refused")).to_contain_text("not_yet_submitted")
    page.context.close()


def test_unit_and_ranking_change_live_when_the_council_records(browser: Browser, site: Site) -> None:
    unit = signed_in(browser, site, Role.UNIT)
    expect(unit).to_have_url(re.compile(r"/ui/units/so-noi-vu"))
    province = signed_in(browser, site, Role.PROVINCE)
    expect(province).to_have_url(re.compile(r"/ui/province"))
    for page in (unit, province):
        page.wait_for_function("() => document.body.dataset.live === 'connected'")
    index_before = unit.locator("#unit-index").inner_text()
    ranking_before = province.locator("#ranking-department").inner_text()

    council = signed_in(browser, site, Role.APPRAISER)
    council.goto(f"{site.url}/ui/council?criterion=1.2")
    record(council, "so-noi-vu", "0", "Không có báo cáo quý")
    expect(council.locator(".flash.ok")).to_be_visible()

    expect(unit.locator("#unit-index")).not_to_have_text(index_before)
    expect(province.locator("#ranking-department")).not_to_have_text(ranking_before)
    index_after = unit.locator("#unit-index").inner_text()
    expect(province.locator("#ranking-department tr", has_text="Sở Nội vụ")).to_contain_text(index_after)
    shoot(unit, "unit")
    shoot(province, "province")
    for page in (unit, province, council):
        page.context.close()


def test_unit_sees_its_rejections_and_is_refused_outside_its_scope(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, Role.UNIT)
    rejected = page.locator("#rejected")
    expect(rejected).to_contain_text(ReasonCode.LETTERED_NUMBER.vietnamese)
    expect(rejected).to_contain_text(remedy(ReasonCode.LETTERED_NUMBER.value))
    expect(page.get_by_role("heading", name="Thời hạn")).to_be_visible()
    expect(page.locator("#ledger tbody tr")).not_to_have_count(0)
    assert serious_violations(page) == []

    page.goto(f"{site.url}/ui/units/so-tai-chinh")
    expect(page.locator(".flash.refused")).to_contain_text("out_of_scope")
    page.goto(f"{site.url}/ui/council")
    expect(page.locator(".flash.refused")).to_contain_text("role_not_allowed")
    shoot(page, "refused")
    page.context.close()


def test_province_rankings_export_and_phone_width(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, Role.PROVINCE)
    table = page.locator("#ranking-department")
    expect(table.locator("tr.not-ranked")).to_contain_text("Ban Dân tộc")
    expect(table).to_contain_text("Đánh giá, không xếp hạng")
    expect(page.locator("svg.chart")).not_to_have_count(0)
    assert serious_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải phụ lục (xlsx)").click()
    assert download.value.suggested_filename == "chi-so-cchc-department-2024.xlsx"
    page.context.close()

    phone = signed_in(browser, site, Role.APPRAISER, viewport=PHONE)
    phone.goto(f"{site.url}/ui/council?criterion={APPRAISED_LEAF}")
    overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    shoot(phone, "council-phone")
    phone.context.close()


def test_search_without_diacritics_with_facets_and_highlights(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, Role.APPRAISER)
    page.goto(f"{site.url}/ui/search")
    page.get_by_label("Từ khóa (có dấu hoặc không dấu)").fill("ke hoach kiem tra")
    page.get_by_role("button", name="Tìm kiếm").click()
    hits = page.locator("#hits > li")
    expect(hits).not_to_have_count(0)
    expect(page.locator("#hits mark").first).to_be_visible()
    page.locator(".facets a", has_text="Không hợp lệ").click()
    expect(hits).not_to_have_count(0)
    assert page.locator("#hits .badge-accepted").count() == 0
    assert serious_violations(page) == []
    shoot(page, "search")
    page.context.close()
