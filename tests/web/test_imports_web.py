"""The province's CCHC office imports its own workbook from the browser (issue 13): it uploads
the council's appraisal table as the office keeps it, sees a preview of every value the file
stands for (and the total row skipped), records it with "Ghi nhận", and the rankings change. A
file with a refused row shows the row, the column and the reason code with its explanation, and
records nothing. Unit and council keys cannot reach the page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from kiemchung.demo import DEMO_YEAR
from services.scoring.access import Role
from services.scoring.tables import MAX_FILE_BYTES
from tests.web.conftest import PHONE, Site, serious_violations, shoot, signed_in
from tests.web.province_tables import FIRST_DATA_ROW, LEAVES, SHEET, appraisal_book, column_of

pytestmark = pytest.mark.browser

MB = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Sở Nội vụ and Sở Tư pháp (both submitted in the demo), below the leaves' maxima.
GOOD: dict[str, list[Any]] = {
    "Sở Nội vụ": ["9,5", 7, 6, 6, 7, 6, "9,5", 6, 6, 4, "9,5"],
    "sở tư pháp": [8, 6, 5, 5, 7, 5, 8, 5, 5, 3, 8],  # typed without capitals
}


def ranked_index(page: Page, site: Site, name: str) -> str:
    page.goto(f"{site.url}/ui/province?year={DEMO_YEAR}")
    row = page.locator("#ranking-department tr", has_text=name)
    return row.locator("td").nth(1).inner_text()


def upload(page: Page, data: bytes, filename: str = "tham-dinh-2024.xlsx") -> None:
    form = page.locator("#import-form")
    form.get_by_label("Kết quả thẩm định").check()
    form.get_by_label("Năm đánh giá (để trống: theo tệp)").fill(str(DEMO_YEAR))
    form.get_by_label("Tệp bảng tính").set_input_files(
        files=[FilePayload(name=filename, mimeType=XLSX, buffer=data)]
    )
    form.get_by_role("button", name="Xem trước").click()
    page.wait_for_load_state()


def test_province_previews_then_records_an_appraisal_workbook_and_the_ranking_changes(
    browser: Browser, site: Site
) -> None:
    page = signed_in(browser, site, Role.PROVINCE)
    before = {name: ranked_index(page, site, name) for name in ("Sở Nội vụ", "Sở Tư pháp")}
    page.get_by_role("link", name="Nhập dữ liệu từ bảng tính").first.click()
    expect(page).to_have_url(re.compile(r"/ui/imports"))
    assert serious_violations(page) == []

    upload(page, appraisal_book(DEMO_YEAR, GOOD))
    expect(page.locator("#outcome-title")).to_contain_text("Xem trước: chưa ghi gì")
    expect(page.locator("#rows-read")).to_have_text(str(2 * len(LEAVES)))
    expect(page.locator("#would-record")).to_have_text(str(2 * len(LEAVES)))
    per_unit = page.locator("#per-unit tbody tr")
    expect(per_unit).to_have_count(2)
    expect(per_unit.filter(has_text="Sở Nội vụ").locator("td").first).to_have_text(str(len(LEAVES)))
    planned = page.locator("#planned tbody tr")
    expect(planned).to_have_count(2 * len(LEAVES))
    first = planned.filter(has_text=f"{SHEET}!{column_of('1.1')}{FIRST_DATA_ROW}")
    expect(first).to_contain_text("Sở Nội vụ")
    expect(first).to_contain_text("9,5")
    expect(page.locator("#notes")).to_contain_text("Bỏ qua dòng tổng")
    expect(page.locator("#notes")).to_contain_text("Tổng cộng")
    expect(page.locator("#refusals")).to_have_count(0)
    assert serious_violations(page) == []
    shoot(page, "province-import-preview")
    # The preview recorded nothing.
    preview_url = page.url
    assert {name: ranked_index(page, site, name) for name in before} == before
    page.go_back()
    expect(page).to_have_url(preview_url)

    page.get_by_role("button", name="Ghi nhận").click()
    page.wait_for_load_state()
    expect(page.locator("#outcome-title")).to_contain_text("Kết quả ghi nhận")
    expect(page.locator("#recorded")).to_have_text(str(2 * len(LEAVES)))
    assert serious_violations(page) == []
    shoot(page, "province-import-recorded")
    page.get_by_role("link", name=f"Xem xếp hạng năm {DEMO_YEAR}").click()
    page.wait_for_load_state()
    after = {
        name: page.locator("#ranking-department tr", has_text=name).locator("td").nth(1).inner_text()
        for name in before
    }
    for name in before:
        assert after[name] != before[name], name

    # The same file again: nothing new to record, and no button to record it.
    page.goto(f"{site.url}/ui/imports")
    upload(page, appraisal_book(DEMO_YEAR, GOOD))
    expect(page.locator("#would-record")).to_have_text("0")
    expect(page.get_by_role("button", name="Ghi nhận")).to_have_count(0)
    page.context.close()


def test_a_refused_row_is_shown_with_row_column_and_reason_and_nothing_is_recorded(
    browser: Browser, site: Site
) -> None:
    page = signed_in(browser, site, Role.PROVINCE)
    before = ranked_index(page, site, "Sở Nội vụ")
    rows: dict[str, list[Any]] = {
        "Sở Nội vụ": [5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 5],  # valid alone, but the file is refused
        "Sở Tư pháp": [8, "12,5", 5, 5, 7, 5, 8, 5, 5, 3, 8],  # 1.2 above its maximum
    }
    page.goto(f"{site.url}/ui/imports")
    upload(page, appraisal_book(DEMO_YEAR, rows))
    refusals = page.locator("#refusals tbody tr")
    expect(refusals).to_have_count(1)
    cells = refusals.first.locator("td")
    expect(cells.nth(0)).to_have_text(SHEET)
    expect(cells.nth(1)).to_have_text(str(FIRST_DATA_ROW + 1))
    expect(cells.nth(2)).to_have_text(column_of("1.2"))
    expect(cells.nth(3)).to_have_text("points_out_of_range")
    expect(cells.nth(4)).to_have_text("Điểm ngoài khoảng cho phép (âm hoặc lớn hơn điểm tối đa)")
    expect(page.locator("#import-outcome [role=alert]")).to_contain_text("không ghi nhận dòng nào")
    expect(page.get_by_role("button", name="Ghi nhận")).to_have_count(0)
    assert serious_violations(page) == []
    shoot(page, "province-import-refused")
    assert ranked_index(page, site, "Sở Nội vụ") == before
    page.context.close()


@pytest.mark.parametrize("role", [Role.UNIT, Role.APPRAISER])
def test_unit_and_council_keys_cannot_reach_the_import_page(browser: Browser, site: Site, role: Role) -> None:
    page = signed_in(browser, site, role)
    expect(page.get_by_role("link", name="Nhập dữ liệu từ bảng tính")).to_have_count(0)
    response = page.goto(f"{site.url}/ui/imports")
    assert response is not None
    assert response.status == 403
    expect(page.locator("[role=alert]")).to_contain_text("role_not_allowed")
    expect(page.locator("#import-form")).to_have_count(0)
    if role is Role.APPRAISER:
        page.goto(f"{site.url}/ui/province?year={DEMO_YEAR}")
        expect(page.locator("#ranking-department")).to_be_visible()
        expect(page.locator("#import-link")).to_have_count(0)
    page.context.close()


def test_on_a_phone_in_english_a_survey_file_naming_an_unknown_unit_is_refused(
    browser: Browser, site: Site
) -> None:
    page = signed_in(browser, site, Role.PROVINCE, viewport=PHONE)
    page.goto(f"{site.url}/ui/imports?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import from a workbook")
    survey = "Tên đơn vị;Điểm khảo sát\nSở Nội vụ;17,2534\nSở Không Tồn Tại;15\n".encode("utf-8-sig")
    form = page.locator("#import-form")
    form.get_by_label("Survey results").check()
    form.get_by_label("Workbook file").set_input_files(
        files=[FilePayload(name="khao-sat.csv", mimeType="text/csv", buffer=survey)]
    )
    form.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    refusal = page.locator("#refusals tbody tr")
    expect(refusal).to_have_count(1)
    expect(refusal.locator("td").nth(1)).to_have_text("3")
    expect(refusal.locator("td").nth(3)).to_have_text("unknown_unit")
    expect(refusal.locator("td").nth(4)).to_have_text("No such unit")
    expect(page.get_by_role("button", name="Record")).to_have_count(0)
    assert serious_violations(page) == []
    shoot(page, "province-import-phone-en")
    page.context.close()


def test_a_file_larger_than_the_importer_reads_is_refused_with_a_message(
    browser: Browser, site: Site
) -> None:
    page = signed_in(browser, site, Role.PROVINCE)
    page.goto(f"{site.url}/ui/imports")
    form = page.locator("#import-form")
    form.get_by_label("Tệp bảng tính").set_input_files(
        files=[FilePayload(name="lon.csv", mimeType="text/csv", buffer=b"x" * (MAX_FILE_BYTES + 5 * MB))]
    )
    form.get_by_role("button", name="Xem trước").click()
    page.wait_for_load_state()
    expect(page.locator("#import-error")).to_contain_text("file_too_large")
    expect(page.locator("#import-error")).to_contain_text("Tệp quá lớn")
    expect(page.locator("#import-outcome")).to_have_count(0)
    page.context.close()
