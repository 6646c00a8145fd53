"""Property test: any grid of appendix-like cells imports to a set or to reason-coded issues,
never an exception, and an import without errors always validates (issue 13). Bounded (few
examples, no deadline) so `make test` stays fast."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from criteria.appendix import SetMeta, import_grid
from criteria.errors import CriteriaReason
from criteria.model import Level
from criteria.tables import Grid, GridRow
from criteria.validation import validate

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
HEADING = ("STT", "Lĩnh vực/Tiêu chí/Tiêu chí thành phần", "Điểm tối đa", "Cách tính điểm", "Ghi chú")
STT = st.sampled_from(
    ["", "I", "II", "III", "IV", "1", "2", "1.1", "1.2", "2.1", "1.1.1", "a)", "b)", "đ)", "-", "+", "A",
     "Phần B", "1.0", "0", "1..2", "x", "1.1.1.1.1.1.1", "IIII", "(1)", "3.", "1)", "STT"]
)  # fmt: skip
POINTS = st.sampled_from(
    ["", "0", "1", "2", "0,5", "1.5", "10", "20", "100", "-", "tối đa 2", "0,5/1", "0 - 2", "mười", "1e9",
     "NaN", "-1", "điểm", "2 điểm", "1,2,3", "Điểm tối đa", "Tối đa"]
)  # fmt: skip
TEXT = st.sampled_from(
    ["", "Kế hoạch CCHC năm", "Tổng cộng", "Tổng điểm", "Điều tra xã hội học", "SIPAS", "Ban hành kịp thời",
     "1.1. Kế hoạch", "a) Ban hành", "- Không ban hành", "Cộng", "(1)", "C«ng t¸c chØ ®¹o, ®iÒu hµnh",
     "Nội dung", "PHỤ LỤC II"]
)  # fmt: skip
ROW = st.tuples(STT, TEXT, POINTS, TEXT, TEXT)
META = SetMeta(issuer="UBND tỉnh X", decision="1/QĐ-UBND", level=Level.DEPARTMENT, years=(2024,))


@BOUNDED
@given(st.lists(ROW, max_size=40), st.booleans(), st.booleans(), st.sampled_from([None, 1, 2, 3]))
def test_any_grid_imports_to_a_set_or_reason_coded_issues(
    rows: list[tuple[str, ...]], numbering: bool, template: bool, appendix: int | None
) -> None:
    body = [HEADING, *([tuple(f"({i})" for i in range(1, 6))] if numbering else []), *rows]
    grid = Grid(tuple(GridRow(n, cells) for n, cells in enumerate(body, start=1)))
    result = import_grid(grid, META, template=template, appendix=appendix)
    assert all(isinstance(issue.reason, CriteriaReason) for issue in result.report.issues)
    if result.report.ok:
        assert validate(result.cset).ok
        # Without --template only a table that adds up is accepted, and it is never a template.
        assert template or (result.incomplete == () and not result.cset.is_template)
