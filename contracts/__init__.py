"""Versioned event contracts shared by every kiemchung service."""

from contracts.envelope import Event
from contracts.errors import ContractError, ContractReason
from contracts.registry import parse_event, serialise

__all__ = ["ContractError", "ContractReason", "Event", "parse_event", "serialise"]
