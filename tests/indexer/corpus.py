"""Vietnamese evidence written for the tests: plans, reports and decisions of the CCHC work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from services.indexer.model import Decision, EvidenceEntry

VERIFIED_AT = datetime(2024, 12, 1, 8, 30, tzinfo=UTC)

SO_NOI_VU = ("so-noi-vu", "Sở Nội vụ", "department")
SO_TU_PHAP = ("so-tu-phap", "Sở Tư pháp", "department")
HUYEN_LONG_HO = ("huyen-long-ho", "UBND huyện Long Hồ", "district")
XA_TAN_HANH = ("xa-tan-hanh", "UBND xã Tân Hạnh", "commune")


def entry(
    link_id: str,
    unit: tuple[str, str, str],
    criterion: str,
    title: str,
    text: str,
    number: str | None,
    issued_on: date | None,
    decision: Decision = Decision.ACCEPTED,
    reasons: tuple[str, ...] = (),
    year: int = 2024,
    version: int = 1,
) -> EvidenceEntry:
    unit_id, unit_name, level = unit
    return EvidenceEntry(
        link_id=link_id,
        unit_id=unit_id,
        unit_name=unit_name,
        level=level,
        year=year,
        criterion_code=criterion,
        decision=decision,
        reasons=reasons,
        number=number,
        notation=number.split("/", 1)[1] if number and "/" in number else None,
        issuer=unit_name,
        issued_on=issued_on,
        title=title,
        signer="Trần Thị Bích",
        link=f"https://eoffice.example.gov.vn/vb/{link_id}",
        text=text,
        verified_at=VERIFIED_AT,
        version=version,
    )


KE_HOACH_CCHC = entry(
    "l-kh-15",
    SO_NOI_VU,
    "1.1",
    "Kế hoạch cải cách hành chính năm 2024",
    "Căn cứ Nghị quyết số 76/NQ-CP của Chính phủ, Ủy ban nhân dân tỉnh ban hành Kế hoạch cải cách "
    "hành chính năm 2024 nhằm nâng cao Chỉ số CCHC. Kế hoạch xác định nhiệm vụ trọng tâm: hoàn thiện "
    "thể chế, cải cách thủ tục hành chính, xây dựng chính quyền số. Các sở, ban, ngành triển khai "
    "thực hiện và báo cáo định kỳ hằng quý.",
    "15/KH-UBND",
    date(2024, 1, 15),
)
BAO_CAO_QUY = entry(
    "l-bc-120",
    HUYEN_LONG_HO,
    "1.2",
    "Báo cáo kết quả thực hiện công tác cải cách hành chính quý I năm 2024",
    "Trong quý I, Ủy ban nhân dân huyện đã tổ chức thực hiện đầy đủ các nhiệm vụ cải cách hành chính "
    "theo kế hoạch. Tỷ lệ hồ sơ giải quyết đúng hạn đạt 98,5%. Công tác tuyên truyền được đẩy mạnh "
    "trên cổng thông tin điện tử.",
    "120/BC-UBND",
    date(2024, 4, 10),
)
RA_SOAT_THE_CHE = entry(
    "l-bc-45",
    SO_TU_PHAP,
    "2.1",
    "Báo cáo rà soát văn bản quy phạm pháp luật",
    "Sở Tư pháp đã rà soát 152 văn bản quy phạm pháp luật, đề xuất sửa đổi 12 văn bản để hoàn thiện "
    "thể chế quản lý nhà nước trên địa bàn tỉnh. Kết quả rà soát được công bố công khai.",
    "45/BC-STP",
    date(2024, 6, 3),
    decision=Decision.NEEDS_REVIEW,
    reasons=("scanned_paper",),
)
# Short and with the folded word in its title, so plain BM25 would rank it above the longer
# document carrying the exact word "thể": the exact tier must still win.
VI_THE = entry(
    "l-kh-88",
    SO_TU_PHAP,
    "2.1",
    "Kế hoạch nâng cao vị thế",
    "Nâng cao vị thế của tỉnh.",
    "88/KH-STP",
    date(2024, 7, 1),
)
KE_HOACH_BO_SUNG = entry(
    "l-kh-15a",
    HUYEN_LONG_HO,
    "1.1.2",
    "Kế hoạch bổ sung kiểm tra công tác cải cách hành chính",
    "Kế hoạch kiểm tra bổ sung được ban hành sau thời hạn, số văn bản có hậu tố chữ cái.",
    "15a/KH-UBND",
    date(2024, 11, 20),
    decision=Decision.REJECTED,
    reasons=("number_suffix", "scanned_paper"),
)
QUYET_DINH_QUY_CHE = entry(
    "l-qd-150",
    XA_TAN_HANH,
    "10.1",
    "Quyết định ban hành quy chế làm việc của Ủy ban nhân dân xã",
    "Quyết định ban hành quy chế làm việc, phân công nhiệm vụ cho cán bộ, công chức xã.",
    "150/QĐ-UBND",
    date(2023, 3, 2),
    year=2023,
)
DE_AN_CHUYEN_DOI_SO = entry(
    "l-da-30",
    SO_NOI_VU,
    "6.1",
    "Đề án chuyển đổi số trong cải cách hành chính tỉnh Đồng Tháp",
    "Đề án đẩy mạnh chuyển đổi số, xây dựng chính quyền điện tử, kết nối hệ thống quản lý văn bản "
    "và điều hành với Cổng dịch vụ công quốc gia.",
    "30/ĐA-UBND",
    None,
)

DOCUMENTS = (
    KE_HOACH_CCHC,
    BAO_CAO_QUY,
    RA_SOAT_THE_CHE,
    VI_THE,
    KE_HOACH_BO_SUNG,
    QUYET_DINH_QUY_CHE,
    DE_AN_CHUYEN_DOI_SO,
)

GIAO_BAN_TEXT = (
    "Thông báo kết luận của Chủ tịch Ủy ban nhân dân tại cuộc họp giao ban công tác cải cách hành "
    "chính; các đơn vị tiếp tục thực hiện nghiêm kỷ luật, kỷ cương hành chính."
)


def giao_ban(count: int) -> tuple[EvidenceEntry, ...]:
    """Notices with the same text and date: they tie on score and on date."""
    return tuple(
        entry(
            f"l-tb-{i:03d}",
            XA_TAN_HANH,
            "1.3",
            "Thông báo kết luận cuộc họp giao ban",
            GIAO_BAN_TEXT,
            f"{200 + i}/TB-UBND",
            date(2024, 9, 1),
        )
        for i in range(count)
    )


def bumped(e: EvidenceEntry, **changes: object) -> EvidenceEntry:
    return replace(e, version=e.version + 1, **changes)  # type: ignore[arg-type]
