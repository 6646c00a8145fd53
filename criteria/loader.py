"""YAML documents (format in criteria/README.md) to and from the model.

Parsing collects every problem it meets and raises one `CriteriaLoadError` carrying all of
them, so `kiemchung criteria check` can print each with its code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from criteria.errors import CriteriaLoadError, CriteriaReason, Issue, Severity
from criteria.model import (
    STANDARD_TOTAL,
    CountKind,
    CriteriaSet,
    FieldTable,
    Level,
    Node,
    Overlay,
    OverlayChange,
    OverlayOp,
    Scope,
    Source,
)
from criteria.safe_yaml import MAX_YAML_BYTES, safe_load

KIND_SET = "criteria_set"
KIND_OVERLAY = "overlay"
KIND_FIELD_TABLE = "field_table"
FIELD_TABLE_KEYS = frozenset(
    {"kind", "issuer", "decision", "decision_date", "scope", "years", "title", "total", "declared_counts",
     "note", "fields"}
)  # fmt: skip
SET_KEYS = frozenset(
    {
        "kind", "issuer", "decision", "decision_date", "level", "years", "title", "total", "total_basis",
        "source_totals", "step", "declared_counts", "amendments", "note", "template", "fields",
    }
)  # fmt: skip
NODE_KEYS = frozenset(
    {"code", "title", "max", "source", "step", "template", "children", "note", "declared_counts"}
)
OVERLAY_KEYS = frozenset({"kind", "issuer", "decision", "base", "years", "changes", "note"})
BASE_KEYS = frozenset({"decision", "level"})
CHANGE_KEYS = frozenset({"op", "code", "max", "was", "title", "note"})
DATA_PACKAGE = "criteria"
DATA_DIR = "data"


class _Collector:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, reason: CriteriaReason, path: str, message: str) -> None:
        self.issues.append(Issue(reason, path, message))

    def unknown_keys(self, raw: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
        for key in raw:
            if key not in allowed:
                self.issues.append(
                    Issue(CriteriaReason.UNKNOWN_KEY, path, f"unknown key {key!r}", Severity.WARNING)
                )

    def text(self, raw: Mapping[str, Any], key: str, path: str, required: bool = True) -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.add(CriteriaReason.MISSING_KEY, path, f"missing {key!r}")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(CriteriaReason.BAD_VALUE, path, f"{key!r} must be text")
            return ""
        return str(value)

    def decimal(self, raw: Mapping[str, Any], key: str, path: str) -> Decimal | None:
        value = raw.get(key)
        if value is None:
            return None
        return self.to_decimal(value, key, path)

    def to_decimal(self, value: Any, key: str, path: str) -> Decimal | None:
        # Floats go through str() so 0.1 becomes Decimal("0.1"), not its binary expansion.
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            self.add(CriteriaReason.BAD_DECIMAL, path, f"{key!r} must be a number, got {value!r}")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.add(CriteriaReason.BAD_DECIMAL, path, f"{key!r} is not a number: {value!r}")
            return None
        if not number.is_finite():
            self.add(CriteriaReason.BAD_DECIMAL, path, f"{key!r} is not finite: {value!r}")
            return None
        return number

    def level(self, raw: Mapping[str, Any], key: str, path: str) -> Level:
        value = raw.get(key)
        try:
            return Level(str(value))
        except ValueError:
            self.add(CriteriaReason.BAD_LEVEL, path, f"{key!r} must be one of {[lv.value for lv in Level]}")
            return Level.DEPARTMENT

    def years(self, raw: Mapping[str, Any], path: str) -> tuple[int, ...]:
        value = raw.get("years")
        if value is None:
            self.add(CriteriaReason.MISSING_KEY, path, "missing 'years'")
            return ()
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(y, int) and not isinstance(y, bool) for y in items):
            self.add(CriteriaReason.BAD_VALUE, path, "'years' must be a year or a list of years")
            return ()
        return tuple(items)

    def counts(self, raw: Mapping[str, Any], path: str) -> tuple[tuple[CountKind, int], ...]:
        value = raw.get("declared_counts")
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.add(CriteriaReason.BAD_VALUE, path, "'declared_counts' must be a mapping")
            return ()
        out: list[tuple[CountKind, int]] = []
        for key, count in value.items():
            try:
                kind = CountKind(key)
            except ValueError:
                self.add(CriteriaReason.BAD_VALUE, path, f"unknown count kind {key!r}")
                continue
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                self.add(CriteriaReason.BAD_VALUE, path, f"count {key!r} must be a non-negative integer")
                continue
            out.append((kind, count))
        return tuple(out)

    def source(self, raw: Mapping[str, Any], path: str) -> Source | None:
        value = raw.get("source")
        if value is None:
            return None
        try:
            return Source(value)
        except ValueError:
            self.add(CriteriaReason.BAD_SOURCE, path, f"'source' must be one of {[s.value for s in Source]}")
            return None


def _node(col: _Collector, raw: Any, where: str) -> Node | None:
    if not isinstance(raw, dict):
        col.add(CriteriaReason.BAD_VALUE, where, "a node must be a mapping")
        return None
    code = col.text(raw, "code", where)
    path = code or where
    col.unknown_keys(raw, NODE_KEYS, path)
    template = raw.get("template", False)
    if not isinstance(template, bool):
        col.add(CriteriaReason.BAD_VALUE, path, "'template' must be true or false")
        template = False
    raw_children = raw.get("children", [])
    if not isinstance(raw_children, list):
        col.add(CriteriaReason.BAD_VALUE, path, "'children' must be a list")
        raw_children = []
    children = tuple(
        child
        for i, item in enumerate(raw_children)
        if (child := _node(col, item, f"{path}[{i}]")) is not None
    )
    return Node(
        code=code,
        title=col.text(raw, "title", path),
        maximum=col.decimal(raw, "max", path),
        source=col.source(raw, path),
        step=col.decimal(raw, "step", path),
        template=template,
        children=children,
        note=col.text(raw, "note", path, required=False),
        declared_counts=col.counts(raw, path),
    )


def _set(col: _Collector, raw: Mapping[str, Any]) -> CriteriaSet:
    col.unknown_keys(raw, SET_KEYS, "")
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list):
        col.add(CriteriaReason.MISSING_KEY, "", "'fields' must be a list of nodes")
        raw_fields = []
    fields = tuple(
        node for i, item in enumerate(raw_fields) if (node := _node(col, item, f"fields[{i}]")) is not None
    )
    source_totals: list[tuple[Source, Decimal]] = []
    raw_split = raw.get("source_totals") or {}
    if not isinstance(raw_split, dict):
        col.add(CriteriaReason.BAD_VALUE, "", "'source_totals' must be a mapping")
        raw_split = {}
    for key, value in raw_split.items():
        try:
            src = Source(key)
        except ValueError:
            col.add(CriteriaReason.BAD_SOURCE, "", f"unknown source {key!r} in 'source_totals'")
            continue
        amount = col.to_decimal(value, f"source_totals.{key}", "")
        if amount is not None:
            source_totals.append((src, amount))
    amendments = raw.get("amendments") or []
    if not isinstance(amendments, list) or not all(isinstance(a, str) for a in amendments):
        col.add(CriteriaReason.BAD_VALUE, "", "'amendments' must be a list of decision numbers")
        amendments = []
    total = col.decimal(raw, "total", "")
    template = raw.get("template", False)
    if not isinstance(template, bool):
        col.add(CriteriaReason.BAD_VALUE, "", "'template' must be true or false")
        template = False
    return CriteriaSet(
        issuer=col.text(raw, "issuer", ""),
        decision=col.text(raw, "decision", ""),
        decision_date=col.text(raw, "decision_date", "", required=False),
        level=col.level(raw, "level", ""),
        years=col.years(raw, ""),
        title=col.text(raw, "title", "", required=False),
        total=STANDARD_TOTAL if total is None else total,
        total_basis=col.text(raw, "total_basis", "", required=False),
        source_totals=tuple(source_totals),
        step=col.decimal(raw, "step", ""),
        declared_counts=col.counts(raw, ""),
        amendments=tuple(amendments),
        note=col.text(raw, "note", "", required=False),
        template=template,
        fields=fields,
    )


def _change(col: _Collector, raw: Any, where: str) -> OverlayChange | None:
    if not isinstance(raw, dict):
        col.add(CriteriaReason.BAD_VALUE, where, "a change must be a mapping")
        return None
    code = col.text(raw, "code", where)
    path = code or where
    col.unknown_keys(raw, CHANGE_KEYS, path)
    try:
        op = OverlayOp(str(raw.get("op")))
    except ValueError:
        col.add(CriteriaReason.BAD_VALUE, path, f"'op' must be one of {[o.value for o in OverlayOp]}")
        return None
    maximum = col.decimal(raw, "max", path)
    if op is OverlayOp.SET_MAXIMUM and maximum is None:
        col.add(CriteriaReason.MISSING_KEY, path, "set_maximum needs 'max'")
    title = col.text(raw, "title", path, required=op is OverlayOp.RENAME)
    return OverlayChange(
        op=op,
        code=code,
        maximum=maximum,
        previous_maximum=col.decimal(raw, "was", path),
        title=title,
        note=col.text(raw, "note", path, required=False),
    )


def _overlay(col: _Collector, raw: Mapping[str, Any]) -> Overlay:
    col.unknown_keys(raw, OVERLAY_KEYS, "")
    base = raw.get("base")
    if not isinstance(base, dict):
        col.add(CriteriaReason.MISSING_KEY, "", "'base' must name the base set (decision, level)")
        base = {}
    col.unknown_keys(base, BASE_KEYS, "base")
    raw_changes = raw.get("changes")
    if not isinstance(raw_changes, list):
        col.add(CriteriaReason.MISSING_KEY, "", "'changes' must be a list")
        raw_changes = []
    changes = tuple(
        ch for i, item in enumerate(raw_changes) if (ch := _change(col, item, f"changes[{i}]")) is not None
    )
    return Overlay(
        issuer=col.text(raw, "issuer", ""),
        decision=col.text(raw, "decision", ""),
        base_decision=col.text(base, "decision", "base"),
        base_level=col.level(base, "level", "base"),
        years=col.years(raw, ""),
        changes=changes,
        note=col.text(raw, "note", "", required=False),
    )


def parse_document(raw: Any) -> CriteriaSet | Overlay:
    """Turn an already-parsed YAML document into a set or an overlay, or raise with all issues."""
    col = _Collector()
    if not isinstance(raw, dict):
        raise CriteriaLoadError((Issue(CriteriaReason.BAD_VALUE, "", "the document must be a mapping"),))
    kind = raw.get("kind", KIND_SET)
    result: CriteriaSet | Overlay
    if kind == KIND_SET:
        result = _set(col, raw)
    elif kind == KIND_OVERLAY:
        result = _overlay(col, raw)
    elif kind == KIND_FIELD_TABLE:
        # Reference data, never a set to score: the criteria folder lists it as refused.
        raise CriteriaLoadError(
            (
                Issue(
                    CriteriaReason.BAD_KIND,
                    "",
                    "a field table (national PAR INDEX fields) is reference data, not a criteria set; "
                    "read it with `kiemchung criteria check`",
                ),
            )
        )
    else:
        raise CriteriaLoadError(
            (Issue(CriteriaReason.BAD_KIND, "", f"'kind' must be {KIND_SET!r} or {KIND_OVERLAY!r}"),)
        )
    errors = tuple(i for i in col.issues if i.severity is Severity.ERROR)
    if errors:
        raise CriteriaLoadError(tuple(col.issues))
    return result


def _field_table(col: _Collector, raw: Mapping[str, Any]) -> FieldTable:
    col.unknown_keys(raw, FIELD_TABLE_KEYS, "")
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list):
        col.add(CriteriaReason.MISSING_KEY, "", "'fields' must be a list of nodes")
        raw_fields = []
    fields = tuple(
        node for i, item in enumerate(raw_fields) if (node := _node(col, item, f"fields[{i}]")) is not None
    )
    try:
        scope = Scope(str(raw.get("scope")))
    except ValueError:
        col.add(CriteriaReason.BAD_VALUE, "", f"'scope' must be one of {[s.value for s in Scope]}")
        scope = Scope.PROVINCE
    total = col.decimal(raw, "total", "")
    return FieldTable(
        issuer=col.text(raw, "issuer", ""),
        decision=col.text(raw, "decision", ""),
        decision_date=col.text(raw, "decision_date", "", required=False),
        scope=scope,
        years=col.years(raw, ""),
        title=col.text(raw, "title", "", required=False),
        total=STANDARD_TOTAL if total is None else total,
        declared_counts=col.counts(raw, ""),
        note=col.text(raw, "note", "", required=False),
        fields=fields,
    )


def parse_field_table(raw: Any) -> FieldTable:
    col = _Collector()
    if not isinstance(raw, dict) or raw.get("kind") != KIND_FIELD_TABLE:
        raise CriteriaLoadError((Issue(CriteriaReason.BAD_KIND, "", f"'kind' must be {KIND_FIELD_TABLE!r}"),))
    table = _field_table(col, raw)
    if any(i.severity is Severity.ERROR for i in col.issues):
        raise CriteriaLoadError(tuple(col.issues))
    return table


def load_any(path: Path) -> CriteriaSet | Overlay | FieldTable:
    """What `kiemchung criteria check` reads: a set, an overlay or a national field table."""
    raw = safe_load(_read(path))
    if isinstance(raw, dict) and raw.get("kind") == KIND_FIELD_TABLE:
        return parse_field_table(raw)
    return parse_document(raw)


def load_field_table(path: Path) -> FieldTable:
    """A national field table (`kind: field_table`); CriteriaLoadError like `load_document`."""
    return parse_field_table(safe_load(_read(path)))


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise CriteriaLoadError(
                (Issue(CriteriaReason.YAML_TOO_LARGE, str(path), f"over {MAX_YAML_BYTES} bytes"),)
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CriteriaLoadError((Issue(CriteriaReason.YAML_SYNTAX, str(path), str(exc)),)) from exc


def load_document_text(text: str) -> CriteriaSet | Overlay:
    return parse_document(safe_load(text))


def load_document(path: Path) -> CriteriaSet | Overlay:
    """The set or overlay in `path`; CriteriaLoadError (with a reason code) for any file that
    is too large, unreadable, not UTF-8 or not a valid document."""
    return load_document_text(_read(path))


def load_set(path: Path) -> CriteriaSet:
    doc = load_document(path)
    if not isinstance(doc, CriteriaSet):
        raise CriteriaLoadError((Issue(CriteriaReason.BAD_KIND, "", f"{path} holds an overlay, not a set"),))
    return doc


def load_overlay(path: Path) -> Overlay:
    doc = load_document(path)
    if not isinstance(doc, Overlay):
        raise CriteriaLoadError((Issue(CriteriaReason.BAD_KIND, "", f"{path} holds a set, not an overlay"),))
    return doc


def data_path(name: str) -> Path:
    """Path of a file shipped in criteria/data (e.g. "demo.yaml")."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath(DATA_DIR, name)))


NATIONAL_DIR = "national"


def national_path(name: str) -> Path:
    """Path of a national field table shipped in criteria/data/national (kept out of data/ so
    nothing that loads every set there meets it)."""
    return data_path(NATIONAL_DIR).joinpath(name)


def load_packaged_set(name: str) -> CriteriaSet:
    return load_set(data_path(name))


def _number(value: Decimal) -> str:
    # Quoted strings keep Decimals exact through YAML (no float round trip).
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def _counts_dict(counts: tuple[tuple[CountKind, int], ...]) -> dict[str, int]:
    return {kind.value: count for kind, count in counts}


def node_to_dict(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"code": node.code, "title": node.title}
    if node.maximum is not None:
        out["max"] = _number(node.maximum)
    if node.source is not None:
        out["source"] = node.source.value
    if node.step is not None:
        out["step"] = _number(node.step)
    if node.template:
        out["template"] = True
    if node.note:
        out["note"] = node.note
    if node.declared_counts:
        out["declared_counts"] = _counts_dict(node.declared_counts)
    if node.children:
        out["children"] = [node_to_dict(child) for child in node.children]
    return out


def set_to_dict(cset: CriteriaSet) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": KIND_SET,
        "issuer": cset.issuer,
        "decision": cset.decision,
        "level": cset.level.value,
        "years": list(cset.years),
    }
    if cset.decision_date:
        out["decision_date"] = cset.decision_date
    if cset.title:
        out["title"] = cset.title
    out["total"] = _number(cset.total)
    if cset.total_basis:
        out["total_basis"] = cset.total_basis
    if cset.source_totals:
        out["source_totals"] = {src.value: _number(v) for src, v in cset.source_totals}
    if cset.step is not None:
        out["step"] = _number(cset.step)
    if cset.declared_counts:
        out["declared_counts"] = _counts_dict(cset.declared_counts)
    if cset.amendments:
        out["amendments"] = list(cset.amendments)
    if cset.note:
        out["note"] = cset.note
    if cset.template:
        out["template"] = True
    out["fields"] = [node_to_dict(node) for node in cset.fields]
    return out


def dump_set(cset: CriteriaSet) -> str:
    return yaml.safe_dump(set_to_dict(cset), allow_unicode=True, sort_keys=False, width=100)
