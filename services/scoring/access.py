"""API keys: who may read what. Pure values and a loader; the HTTP layer is services/scoring/api.py.

A key has a role and a scope (the product's three audiences):
- `unit`: the unit's own software or staff; scope is the unit id; reads only that unit.
- `appraiser`: an appraisal council; scope is its council id; reads the units it appraises
  (a unit's `council_id`).
- `province`: the provincial scoring software; reads everything (scope ignored).

Keys are stored only as SHA-256 hashes (a key is a long random token, so a plain hash suffices;
there is nothing to brute-force as with passwords). The key file is JSON:
`[{"name": "...", "sha256": "<hex>", "role": "unit", "scope": "so-noi-vu"}, ...]`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.scoring.errors import AccessError, AccessReason
from services.scoring.service import UnitInfo

KEY_BYTES = 32
SHA256_HEX_LENGTH = 64


class Role(StrEnum):
    UNIT = "unit"
    APPRAISER = "appraiser"
    PROVINCE = "province"


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    role: Role
    scope: str = ""

    def __post_init__(self) -> None:
        if len(self.sha256) != SHA256_HEX_LENGTH or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"key {self.name!r}: sha256 must be 64 lowercase hex digits")
        if self.role is not Role.PROVINCE and not self.scope:
            raise ValueError(f"key {self.name!r}: a {self.role.value} key needs a scope")

    def may_read(self, unit: UnitInfo) -> bool:
        match self.role:
            case Role.PROVINCE:
                return True
            case Role.APPRAISER:
                return unit.council_id == self.scope
            case Role.UNIT:
                return unit.unit_id == self.scope
        return False  # pragma: no cover - exhaustive

    def require(self, unit: UnitInfo) -> None:
        if not self.may_read(unit):
            raise AccessError(AccessReason.OUT_OF_SCOPE, f"{self.role.value} key may not read {unit.unit_id}")

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise AccessError(AccessReason.ROLE_NOT_ALLOWED, f"needs one of: {allowed}")


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


@dataclass(frozen=True)
class KeyRing:
    by_hash: Mapping[str, ApiKey]

    @classmethod
    def of(cls, keys: Iterable[ApiKey]) -> KeyRing:
        table: dict[str, ApiKey] = {}
        for key in keys:
            if key.sha256 in table:
                raise ValueError(f"keys {table[key.sha256].name!r} and {key.name!r} have the same hash")
            table[key.sha256] = key
        return cls(MappingProxyType(table))

    def identify(self, presented: str | None) -> ApiKey:
        if not presented:
            raise AccessError(AccessReason.MISSING_KEY, "send the key in the X-API-Key header")
        key = self.by_hash.get(hash_key(presented))
        if key is None:
            raise AccessError(AccessReason.INVALID_KEY, "unknown key")
        return key


EMPTY_KEYRING = KeyRing(MappingProxyType({}))


def key_from_json(item: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        name=str(item["name"]),
        sha256=str(item["sha256"]).lower(),
        role=Role(item["role"]),
        scope=str(item.get("scope", "")),
    )


def load_keys(path: Path | None) -> KeyRing:
    """The key file's keys; no file means no key (every request is refused with 401)."""
    if path is None:
        return EMPTY_KEYRING
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of keys")
    return KeyRing.of(key_from_json(item) for item in data)


def key_entry(key: ApiKey) -> dict[str, str]:
    return {"name": key.name, "sha256": key.sha256, "role": key.role.value, "scope": key.scope}
