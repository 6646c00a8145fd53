"""Why the web pages refuse a request of their own (the scoring service's refusals keep their
codes: services/scoring/errors.py)."""

from __future__ import annotations

from enum import StrEnum


class UploadReason(StrEnum):
    """Why the import page refuses an upload before the importer reads it."""

    LENGTH_REQUIRED = "length_required"
    BAD_FORM = "bad_form"
    BAD_KIND = "bad_kind"
    BAD_YEAR = "bad_year"
    NO_FILE = "no_file"
    UPLOAD_EXPIRED = "upload_expired"
    READ_ONLY = "read_only"
