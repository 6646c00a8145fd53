"""A unit named in a province's table, matched to a registered unit.

Provinces name units, they do not quote our ids. A name matches when it is the registered name
up to diacritics, case, spacing and punctuation ("SỞ NỘI VỤ", "So Noi vu"), or when both reduce
to the same key once common abbreviations are spelled out ("UBND" → "Ủy ban nhân dân",
"KH&ĐT" → "Kế hoạch và Đầu tư", "TT&TT", "LĐTB&XH" …), "và" is dropped and the usual prefixes
and suffixes are cut ("Sở", "UBND huyện", "Huyện", "Thị xã", "Thành phố", "… tỉnh"). A name that
fits two units, or none, is not guessed: the row is refused naming the candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from services.scoring.service import UnitInfo
from services.scoring.vntext import fold

ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {
        "ubnd": "uy ban nhan dan",
        "hdnd": "hoi dong nhan dan",
        "tp": "thanh pho",
        "tx": "thi xa",
        "vp": "van phong",
        "bql": "ban quan ly",
        "kcn": "khu cong nghiep",
        "khdt": "ke hoach dau tu",
        "kh dt": "ke hoach dau tu",
        "tttt": "thong tin truyen thong",
        "tt tt": "thong tin truyen thong",
        "gddt": "giao duc dao tao",
        "gd dt": "giao duc dao tao",
        "nnptnt": "nong nghiep phat trien nong thon",
        "nn ptnt": "nong nghiep phat trien nong thon",
        "ptnt": "phat trien nong thon",
        "ldtbxh": "lao dong thuong binh xa hoi",
        "ld tb xh": "lao dong thuong binh xa hoi",
        "ldtb xh": "lao dong thuong binh xa hoi",
        "vhttdl": "van hoa the thao du lich",
        "vh tt dl": "van hoa the thao du lich",
        "vhtt dl": "van hoa the thao du lich",
        "tnmt": "tai nguyen moi truong",
        "tn mt": "tai nguyen moi truong",
        "gtvt": "giao thong van tai",
        "gt vt": "giao thong van tai",
        "khcn": "khoa hoc cong nghe",
        "kh cn": "khoa hoc cong nghe",
    }
)
# Longest first, so "uy ban nhan dan huyen" is cut before "uy ban nhan dan".
PREFIXES = (
    "uy ban nhan dan thanh pho",
    "uy ban nhan dan thi xa",
    "uy ban nhan dan thi tran",
    "uy ban nhan dan huyen",
    "uy ban nhan dan phuong",
    "uy ban nhan dan xa",
    "uy ban nhan dan",
    "thanh pho",
    "thi tran",
    "thi xa",
    "huyen",
    "phuong",
    "xa",
    "so",
)
SUFFIXES = ("tinh",)
_FILLER = frozenset({"va"})
_LEADING_NUMBER = re.compile(r"^\s*\d{1,3}\s*[.)/-]\s+")
_ABBREVIATION = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, ABBREVIATIONS), key=len, reverse=True)) + r")\b"
)


def _strip_remarks(name: str) -> str:
    return re.sub(r"\([^()]*\)", " ", name)


class MatchReason(StrEnum):
    UNKNOWN_UNIT = "unknown_unit"
    AMBIGUOUS_UNIT = "ambiguous_unit"


def key(name: str) -> str:
    """The comparable core of a unit's name."""
    folded = " ".join(w for w in fold(name.replace("&", " ")).split() if w not in _FILLER)
    core = _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(1)], folded)
    for prefix in PREFIXES:
        if core.startswith(prefix + " ") and len(core) > len(prefix) + 1:
            core = core[len(prefix) + 1 :]
            break
    for suffix in SUFFIXES:
        if core.endswith(" " + suffix):
            core = core[: -len(suffix) - 1]
    return core


@dataclass(frozen=True)
class Match:
    unit: UnitInfo | None
    reason: MatchReason | None = None
    detail: str = ""


@dataclass(frozen=True)
class UnitDirectory:
    by_id: Mapping[str, UnitInfo]
    by_fold: Mapping[str, tuple[str, ...]]
    by_key: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, units: Iterable[UnitInfo]) -> UnitDirectory:
        by_id = {u.unit_id: u for u in units}
        by_fold: dict[str, list[str]] = {}
        by_key: dict[str, list[str]] = {}
        for unit in by_id.values():
            by_fold.setdefault(fold(unit.name), []).append(unit.unit_id)
            by_key.setdefault(key(unit.name), []).append(unit.unit_id)
        return cls(
            MappingProxyType(by_id),
            MappingProxyType({k: tuple(sorted(v)) for k, v in by_fold.items()}),
            MappingProxyType({k: tuple(sorted(v)) for k, v in by_key.items()}),
        )

    def find(self, unit_id: str = "", name: str = "", *, prefix: bool = False) -> Match:
        """By id when one is given and registered, else by name; `prefix`: the name may be cut
        (a sheet title holds at most 31 characters)."""
        unit_id, name = unit_id.strip(), name.strip()
        if unit_id:
            if unit_id in self.by_id:
                return Match(self.by_id[unit_id])
            hint = ""
            if name:
                by_name = self.find(name=name, prefix=prefix)
                if by_name.unit is not None:
                    hint = (
                        f"; the name fits {by_name.unit.unit_id!r}: if the column holds the "
                        "province's own codes, leave it out"
                    )
            return Match(None, MatchReason.UNKNOWN_UNIT, f"id {unit_id!r} is no registered unit{hint}")
        probe = name
        if not probe:
            return Match(None, MatchReason.UNKNOWN_UNIT, "no unit id or name")
        if probe in self.by_id:
            return Match(self.by_id[probe])
        bare = _LEADING_NUMBER.sub("", probe)
        probes = [(self.by_fold, fold(probe)), (self.by_key, key(probe))]
        if bare != probe or "(" in probe:
            # "1. Sở Nội vụ", "Ban Dân tộc (không xếp hạng)": numbering and remarks around the name.
            probes += [
                (self.by_fold, fold(bare, drop_parentheses=True)),
                (self.by_key, key(_strip_remarks(bare))),
            ]
        for table, folded in probes:
            found = table.get(folded, ())
            if prefix and not found and folded:
                found = tuple(sorted({u for k, ids in table.items() if k.startswith(folded) for u in ids}))
            if len(found) == 1:
                return Match(self.by_id[found[0]])
            if len(found) > 1:
                names = "; ".join(f"{self.by_id[u].name} ({u})" for u in found)
                return Match(None, MatchReason.AMBIGUOUS_UNIT, f"{probe!r} fits {names}")
        return Match(None, MatchReason.UNKNOWN_UNIT, f"{probe!r} is no registered unit")
