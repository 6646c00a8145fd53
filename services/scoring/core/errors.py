"""Why the scoring core refuses a command. A refused command leaves the ledger unchanged."""

from __future__ import annotations

from enum import StrEnum


class ScoringReason(StrEnum):
    # Criteria and units
    INCOMPLETE_CRITERIA = "incomplete_criteria"
    UNKNOWN_LEAF = "unknown_leaf"
    NOT_A_LEAF = "not_a_leaf"
    LEAF_NOT_APPLICABLE = "leaf_not_applicable"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_CRITERIA_SET = "unknown_criteria_set"
    UNKNOWN_LEVEL_DEADLINE = "unknown_level_deadline"
    # A set scores only the years and the level its decision names.
    SET_NOT_FOR_YEAR = "set_not_for_year"
    SET_LEVEL_MISMATCH = "set_level_mismatch"
    # Points
    BAD_POINTS = "bad_points"
    POINTS_OUT_OF_RANGE = "points_out_of_range"
    POINTS_OFF_STEP = "points_off_step"
    # Sources (seed 003: survey points are imported, not typed)
    SURVEY_LEAF_SELF_SCORED = "survey_leaf_self_scored"
    SURVEY_LEAF_APPRAISED = "survey_leaf_appraised"
    EVIDENCE_ON_SURVEY_LEAF = "evidence_on_survey_leaf"
    NOT_SURVEY_LEAF = "not_survey_leaf"
    # Workflow (seeds 001, 003, 004)
    NAIVE_TIME = "naive_time"
    ALREADY_SUBMITTED = "already_submitted"
    PERIOD_LOCKED = "period_locked"
    EVIDENCE_AFTER_LOCK = "evidence_after_lock"
    NOT_YET_SUBMITTED = "not_yet_submitted"
    ALREADY_PUBLISHED = "already_published"
    UNKNOWN_LINK = "unknown_link"
    LINK_LEAF_MISMATCH = "link_leaf_mismatch"
    # A verdict on a document the unit has unlinked (the verifier finished after the unlink).
    LINK_REMOVED = "link_removed"
    # A verdict older than the one already recorded for the link (redelivered or replayed).
    STALE_VERDICT = "stale_verdict"
    STALE_APPRAISAL_ROUND = "stale_appraisal_round"
    BAD_ROUND = "bad_round"
    SUPPLEMENT_IN_PAST = "supplement_in_past"
    EMPTY_COMMAND = "empty_command"
    # Published years (issue 13): only a recorded correction changes them.
    NOT_PUBLISHED = "not_published"
    BAD_MAXIMUM = "bad_maximum"
    # A rules or criteria file now says something else about a published unit-year: not applied.
    PUBLISHED_YEAR_CHANGED = "published_year_changed"


class ScoringError(Exception):
    """A command was refused; `reason` says why."""

    def __init__(self, reason: ScoringReason, message: str = "") -> None:
        super().__init__(f"{reason.value}: {message}" if message else reason.value)
        self.reason = reason
