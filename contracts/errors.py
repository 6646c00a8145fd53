"""Why a message could not be read as a contract event."""

from __future__ import annotations

from enum import StrEnum


class ContractReason(StrEnum):
    MALFORMED_JSON = "MALFORMED_JSON"
    NOT_AN_OBJECT = "NOT_AN_OBJECT"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    UNKNOWN_SCHEMA_VERSION = "UNKNOWN_SCHEMA_VERSION"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"


class ContractError(ValueError):
    def __init__(self, reason: ContractReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
