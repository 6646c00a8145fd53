"""After `kiemchung demo`: a key per role and the settings file that points `serve` and `search`
at the demo's state, so they work with no extra settings (kiemchung/runtime/settings.py reads
DEFAULT_ENV_FILE; variables set in the environment still win)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from kiemchung.runtime.settings import DEFAULT_ENV_FILE
from services.scoring.access import ApiKey, Role, hash_key, key_entry, new_key

DEMO_URL = "http://127.0.0.1:8000/"
SECRET_BYTES = 32


@dataclass(frozen=True)
class DemoKey:
    role: Role
    scope: str
    name: str
    plaintext: str


def demo_keys(council: str, unit_id: str) -> list[DemoKey]:
    return [
        DemoKey(Role.PROVINCE, "", "so-noi-vu.cchc-tinh", new_key()),
        DemoKey(Role.APPRAISER, council, f"{council}.thanh-vien", new_key()),
        DemoKey(Role.UNIT, unit_id, f"{unit_id}.can-bo-cchc", new_key()),
    ]


def write_serving_files(workdir: Path, keys: list[DemoKey], env_file: Path = DEFAULT_ENV_FILE) -> Path:
    """The key file (hashes only, mode 0600) and the settings file; returns the settings file."""
    root = workdir.resolve()
    key_file = root / "api-keys.json"
    entries = [key_entry(ApiKey(k.name, hash_key(k.plaintext), k.role, k.scope)) for k in keys]
    key_file.write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.chmod(key_file, 0o600)
    lines = [
        "# Written by `kiemchung demo`: serve and search use the demo province. Delete to stop.",
        f"KIEMCHUNG_DATA_DIR={root / 'state'}",
        f"KIEMCHUNG_API_KEYS_FILE={key_file}",
        f"KIEMCHUNG_FETCH_FILE_ROOT={root / 'edocs'}",
        f"KIEMCHUNG_TRUST_DIRS={json.dumps([str(root / 'trust')])}",
        f"KIEMCHUNG_WEB_SESSION_SECRET={secrets.token_urlsafe(SECRET_BYTES)}",
    ]
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(env_file, 0o600)
    return env_file


def render_keys(keys: list[DemoKey], env_file: Path) -> str:
    lines = [
        "",
        f"Web: `kiemchung serve`, then open {DEMO_URL} and sign in with a key (settings: {env_file}):",
    ]
    for key in keys:
        scope = f" ({key.scope})" if key.scope else ""
        lines.append(f"  {key.role.value:<10}{scope:<16} {key.plaintext}")
    return "\n".join(lines)
