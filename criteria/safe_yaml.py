"""YAML read with bounds: no aliases, bounded depth and size (listed in SECURITY.md).

PyYAML's SafeLoader still expands aliases (a 1 KB "billion laughs" of nested aliases builds
gigabytes) and composes nodes recursively (1,500 levels is a RecursionError). Criteria sets never
need an alias, and their trees are a few levels deep, so both are refused with a reason code.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node

from criteria.errors import CriteriaLoadError, CriteriaReason, Issue

# A criteria set is under 100 KB; the largest province file with notes is far below this.
MAX_YAML_BYTES = 4 * 1024 * 1024
# Nesting of YAML collections: a node is two levels (its mapping, its children list); real
# sets are under 12.
MAX_YAML_DEPTH = 64


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and nesting deeper than MAX_YAML_DEPTH."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            raise CriteriaLoadError((Issue(CriteriaReason.YAML_ALIAS, "", "aliases are not allowed"),))
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise CriteriaLoadError(
                    (Issue(CriteriaReason.YAML_TOO_DEEP, "", f"nesting deeper than {MAX_YAML_DEPTH}"),)
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def safe_load(text: str) -> Any:
    """The YAML document in `text`; CriteriaLoadError for syntax, size, aliases or depth."""
    if len(text) > MAX_YAML_BYTES:
        raise CriteriaLoadError(
            (Issue(CriteriaReason.YAML_TOO_LARGE, "", f"over {MAX_YAML_BYTES} characters"),)
        )
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise CriteriaLoadError((Issue(CriteriaReason.YAML_SYNTAX, "", str(exc)),)) from exc
    finally:
        loader.dispose()
