"""Reason codes and exceptions for criteria sets.

Every problem found while loading, validating, resolving or importing a criteria set is an
`Issue` carrying a `CriteriaReason`, a severity and the code path it concerns, so a caller can
report all of them at once instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class CriteriaReason(StrEnum):
    # Reading the document
    YAML_SYNTAX = "yaml_syntax"
    YAML_ALIAS = "yaml_alias"
    YAML_TOO_DEEP = "yaml_too_deep"
    YAML_TOO_LARGE = "yaml_too_large"
    MISSING_KEY = "missing_key"
    UNKNOWN_KEY = "unknown_key"
    BAD_VALUE = "bad_value"
    BAD_DECIMAL = "bad_decimal"
    BAD_LEVEL = "bad_level"
    BAD_SOURCE = "bad_source"
    BAD_KIND = "bad_kind"
    # Tree shape
    EMPTY_SET = "empty_set"
    BAD_CODE_FORMAT = "bad_code_format"
    DUPLICATE_CODE = "duplicate_code"
    CODE_NOT_NESTED = "code_not_nested"
    COUNT_MISMATCH = "count_mismatch"
    # Points
    MISSING_MAXIMUM = "missing_maximum"
    NON_POSITIVE_MAXIMUM = "non_positive_maximum"
    PARENT_SUM_MISMATCH = "parent_sum_mismatch"
    TOTAL_NOT_100 = "total_not_100"
    TOTAL_MISMATCH = "total_mismatch"
    NON_POSITIVE_STEP = "non_positive_step"
    MAXIMUM_NOT_ON_STEP = "maximum_not_on_step"
    # Sources (self-assessed / survey)
    SOURCE_CONFLICT = "source_conflict"
    SOURCE_TOTAL_MISMATCH = "source_total_mismatch"
    STEP_ON_SURVEY = "step_on_survey"
    # Incomplete data from the seeds
    TEMPLATE_NODE = "template_node"
    # Overlays
    OVERLAY_BASE_MISMATCH = "overlay_base_mismatch"
    OVERLAY_UNKNOWN_CODE = "overlay_unknown_code"
    YEAR_NOT_COVERED = "year_not_covered"
    # Spreadsheets
    XLSX_UNREADABLE = "xlsx_unreadable"
    XLSX_TOO_LARGE = "xlsx_too_large"
    XLSX_NO_ROWS = "xlsx_no_rows"
    XLSX_BAD_ROW = "xlsx_bad_row"
    # Appendix tables as provinces publish them (criteria/appendix.py, criteria/tables.py)
    UNSUPPORTED_FORMAT = "unsupported_format"
    TABLE_UNREADABLE = "table_unreadable"
    TABLE_TOO_LARGE = "table_too_large"
    NOT_UTF8 = "not_utf8"
    LEGACY_ENCODING = "legacy_encoding"
    NO_HEADER = "no_header"
    MULTIPLE_APPENDICES = "multiple_appendices"
    NO_SUCH_APPENDIX = "no_such_appendix"
    BAD_STT = "bad_stt"
    TOO_DEEP = "too_deep"
    POINTS_INTERPRETED = "points_interpreted"
    ROWS_AFTER_TOTAL = "rows_after_total"
    INCOMPLETE_SET = "incomplete_set"
    METADATA_CONFLICT = "metadata_conflict"


@dataclass(frozen=True)
class Issue:
    """One finding: `path` is the criterion code ("7.2"), or "" for the set itself. An issue
    found in an imported table also names its `row` (as the user sees it in the file) and
    `column` ("C (Điểm tối đa)")."""

    reason: CriteriaReason
    path: str
    message: str
    severity: Severity = Severity.ERROR
    row: int | None = None
    column: str = ""

    def render(self) -> str:
        where = self.path or "<set>"
        at = ""
        if self.row is not None:
            at = f"row {self.row}" + (f", column {self.column}" if self.column else "") + ": "
        return f"{self.severity.value}: {at}{where}: {self.reason.value}: {self.message}"


class CriteriaError(Exception):
    """Base class: a criteria operation failed; `reason` says why."""

    def __init__(self, reason: CriteriaReason, message: str, path: str = "") -> None:
        super().__init__(f"{path or '<set>'}: {reason.value}: {message}")
        self.reason = reason
        self.path = path
        self.message = message


class CriteriaLoadError(CriteriaError):
    """A document could not be turned into a model; `issues` holds every problem found."""

    def __init__(self, issues: tuple[Issue, ...]) -> None:
        first = issues[0]
        super().__init__(first.reason, f"{len(issues)} problem(s); first: {first.message}", first.path)
        self.issues = issues
