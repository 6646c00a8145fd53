"""Does a schema change keep existing consumers and producers working?

As sentry-kafka-schemas does for its topics: each published version's JSON schema is committed
under contracts/schemas/. A change to the model of that same version is compatible only when it
adds optional properties; removing or retyping a property, or making one required, needs a new
schema_version.
"""

from __future__ import annotations

from typing import Any


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    problems: list[str] = []
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name, old_schema in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        problems.extend(_type_changes(old_schema, new_props[name], where))
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(added_required):
        problems.append(f"{path}{name}: now required")
    for name, sub in old.get("$defs", {}).items():
        new_sub = new.get("$defs", {}).get(name)
        if new_sub is None:
            problems.append(f"$defs.{name}: removed")
        else:
            problems.extend(breaking_changes(sub, new_sub, f"{name}."))
    return problems


def _type_changes(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    keys = ("type", "$ref", "const", "format", "anyOf", "items")
    changed = [k for k in keys if old.get(k) != new.get(k)]
    if "enum" in old:
        removed = set(old["enum"]) - set(new.get("enum", []))
        if removed:
            changed.append(f"enum values removed {sorted(removed)}")
    return [f"{where}: {', '.join(changed)} changed" for _ in (0,) if changed]
