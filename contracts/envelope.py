"""The envelope every message carries, whatever its type."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Event(BaseModel):
    """Base of every versioned event: envelope fields plus the event's own fields.

    Subclasses pin `type` and `schema_version` with `Literal` so a payload can only validate
    against the model of its own type and version.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    event_id: UUID
    type: str
    schema_version: int
    occurred_at: AwareDatetime
    correlation_id: UUID = Field(description="The event_id of the message that started this flow")
    producer: str = Field(min_length=1, max_length=100)

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.TYPE}.v{cls.VERSION}"

    def envelope_summary(self) -> str:
        return f"{self.type}.v{self.schema_version} {self.event_id}"
