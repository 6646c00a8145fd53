"""The import page's routes without a browser (issue 13): the province's upload is bounded as
the API bounds it, needs the form's CSRF token and a known kind, is for province keys only, and
every refusal is a page with its reason code explained, never a 500. The previewed file is
committed by a server-chosen token only its sender can use, once.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiemchung.api import serving_app
from kiemchung.demo import COUNCIL, DEMO_NOW, DEMO_YEAR, UNITS, build_demo
from kiemchung.demo_serving import DemoKey, demo_keys, write_serving_files
from kiemchung.runtime.clock import FrozenClock
from kiemchung.runtime.settings import Settings
from kiemchung.web.app import UPLOADS_DIR
from kiemchung.web.errors import UploadReason
from kiemchung.web.import_texts import import_text
from kiemchung.web.uploads import MAX_PENDING, UPLOAD_TTL, UploadStore
from services.scoring.access import Role
from services.scoring.importer import ImportReason, NoteKind
from services.scoring.layout import Skip
from services.scoring.tables import MAX_FILE_BYTES, CellReason, TableReason
from tests.web.conftest import DEMO_UNITS
from tests.web.province_tables import LEAVES, appraisal_book

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([0-9a-f]+)"')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROWS = {"Sở Nội vụ": ["9,5", 7, 6, 6, 7, 6, "9,5", 6, 6, 4, "9,5"]}


@dataclass(frozen=True)
class Served:
    client: TestClient
    keys: dict[Role, DemoKey]
    state: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("web-imports")
    build_demo(workdir, DEMO_UNITS, show_progress=False)
    keys = demo_keys(COUNCIL, UNITS[0].unit_id)
    write_serving_files(workdir, keys, env_file=workdir / "kiemchung.env")
    settings = Settings(
        data_dir=workdir / "state",
        api_keys_file=workdir / "api-keys.json",
        fetch_file_root=workdir / "edocs",
        trust_dirs=[workdir / "trust"],
        web_session_secret="import-route-tests",
    )
    clock = FrozenClock(DEMO_NOW + timedelta(days=1), step=timedelta(milliseconds=1))
    with TestClient(serving_app(settings, clock=clock)) as client:
        yield Served(client, {k.role: k for k in keys}, settings.data_dir)


def sign_in(served: Served, role: Role) -> str:
    """Signs the client in as `role`; returns the session's CSRF token."""
    served.client.cookies.clear()
    response = served.client.post(
        "/ui/signin", data={"key": served.keys[role].plaintext}, follow_redirects=False
    )
    assert response.status_code == 303
    page = served.client.get("/ui/search")
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def send(
    served: Served,
    csrf: str | None,
    kind: str = "appraisals",
    data: bytes | None = None,
    name: str = "t.xlsx",
) -> tuple[int, str]:
    fields = {"kind": kind, "year": str(DEMO_YEAR)}
    if csrf is not None:
        fields["csrf"] = csrf
    body = appraisal_book(DEMO_YEAR, ROWS) if data is None else data
    response = served.client.post("/ui/imports", data=fields, files={"file": (name, body, XLSX)})
    return response.status_code, response.text


def appraised(served: Served, unit_id: str, leaf: str) -> str | None:
    """A unit's appraised points on a leaf as the API reports them (None: not appraised)."""
    key = {"X-API-Key": served.keys[Role.PROVINCE].plaintext}
    score = served.client.get(f"/units/{unit_id}/scores/{DEMO_YEAR}", headers=key).json()
    nodes: list[dict[str, Any]] = list(score["tree"])
    while nodes:
        node = nodes.pop()
        if node["code"] == leaf:
            return None if node["appraised"] is None else str(node["appraised"]["exact"])
        nodes.extend(node["children"])
    raise AssertionError(f"no leaf {leaf}")


def test_an_upload_without_the_forms_csrf_token_is_refused_and_records_nothing(served: Served) -> None:
    sign_in(served, Role.PROVINCE)
    before = appraised(served, UNITS[0].unit_id, "1.1")
    status, text = send(served, None)
    assert status == 401  # as every other form of the pages without its token
    assert "invalid_key" in text
    assert "CSRF" in text
    status, text = send(served, "not-the-token")
    assert status == 401
    assert appraised(served, UNITS[0].unit_id, "1.1") == before


def test_an_unknown_kind_is_refused_with_its_explanation(served: Served) -> None:
    csrf = sign_in(served, Role.PROVINCE)
    status, text = send(served, csrf, kind="criteria")
    assert status == 422
    assert "bad_kind" in text
    assert "Loại dữ liệu không hợp lệ" in text
    assert TOKEN.search(text) is None


def test_a_file_beyond_the_importers_bound_is_refused_as_too_large(served: Served) -> None:
    csrf = sign_in(served, Role.PROVINCE)
    status, text = send(served, csrf, data=b"x" * (MAX_FILE_BYTES + 1), name="big.csv")
    assert status == 413
    assert "file_too_large" in text
    assert "Tệp quá lớn" in text
    # A request announcing more than the bound is refused before its body is read.
    response = served.client.post(
        "/ui/imports",
        content=b"--b--\r\n",
        headers={
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(MAX_FILE_BYTES * 2),
        },
    )
    assert response.status_code == 413
    assert "file_too_large" in response.text


def test_not_a_table_is_refused_with_the_readers_reason_in_the_pages_language(served: Served) -> None:
    csrf = sign_in(served, Role.PROVINCE)
    status, text = send(served, csrf, data=b"%PDF-1.7 not a table", name="ket-qua.pdf")
    assert status == 422
    assert "unknown_format" in text
    assert "Định dạng không hỗ trợ" in text
    response = served.client.post(
        "/ui/imports?lang=en",
        data={"csrf": csrf, "kind": "survey", "year": str(DEMO_YEAR)},
        files={"file": ("ket-qua.xlsx", b"not a zip", XLSX)},
    )
    assert response.status_code == 422
    assert "Import from a workbook" in response.text
    assert "unreadable_file" in response.text
    assert "The file cannot be read" in response.text


def test_unit_and_council_keys_are_refused_on_every_import_route(served: Served) -> None:
    for role in (Role.UNIT, Role.APPRAISER):
        csrf = sign_in(served, role)
        assert served.client.get("/ui/imports").status_code == 403
        status, text = send(served, csrf)
        assert status == 403
        assert "role_not_allowed" in text
        commit = served.client.post("/ui/imports/commit", data={"csrf": csrf, "token": "0" * 32})
        assert commit.status_code == 403


def test_the_previewed_file_is_recorded_once_by_its_token_and_only_by_its_sender(served: Served) -> None:
    csrf = sign_in(served, Role.PROVINCE)
    rows = {"Sở Tư pháp": [7, 6, 5, 5, 7, 5, 8, 5, 5, 3, "7,5"]}
    assert appraised(served, "so-tu-phap", "3.2") is None
    status, text = send(served, csrf, data=appraisal_book(DEMO_YEAR, rows))
    assert status == 200
    found = TOKEN.search(text)
    assert found is not None
    token = found.group(1)
    kept = served.state / UPLOADS_DIR
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept.iterdir())

    # Not a path, and not another key's upload.
    for wrong in ("../../etc/passwd", "f" * 32):
        response = served.client.post("/ui/imports/commit", data={"csrf": csrf, "token": wrong})
        assert response.status_code == 410
        assert "upload_expired" in response.text
    response = served.client.post("/ui/imports/commit", data={"token": token})
    assert response.status_code == 401  # the commit needs the form's token too

    response = served.client.post("/ui/imports/commit", data={"csrf": csrf, "token": token})
    assert response.status_code == 200
    assert re.search(rf'id="recorded">{len(LEAVES)}<', response.text)
    assert appraised(served, "so-tu-phap", "3.2") == "7.5"
    again = served.client.post("/ui/imports/commit", data={"csrf": csrf, "token": token})
    assert again.status_code == 410
    assert "upload_expired" in again.text
    assert not any(kept.iterdir())


def test_kept_uploads_expire_belong_to_their_sender_and_stay_bounded(tmp_path: Path) -> None:
    now = [datetime(2024, 11, 21, 9, 0, tzinfo=UTC)]
    store = UploadStore(tmp_path / "uploads", lambda: now[0])
    first = store.put(
        b"a;b\n1;2\n", kind="survey", year=2024, filename="C:\\docs\\../khao-sat.csv", owner="p"
    )
    assert first.filename == "khao-sat.csv"
    assert store.get(first.token, "someone-else") is None
    found = store.get(first.token, "p")
    assert found is not None
    assert found[1] == b"a;b\n1;2\n"
    now[0] += UPLOAD_TTL + timedelta(seconds=1)
    assert store.get(first.token, "p") is None
    assert not (tmp_path / "uploads" / f"{first.token}.bin").exists()
    tokens: list[str] = []
    for i in range(MAX_PENDING + 5):
        now[0] += timedelta(seconds=1)
        tokens.append(store.put(bytes([i]), kind="units", year=None, filename="u.csv", owner="p").token)
    assert len(list((tmp_path / "uploads").glob("*.bin"))) == MAX_PENDING
    assert store.get(tokens[0], "p") is None  # the oldest made room
    assert store.get(tokens[-1], "p") is not None


@pytest.mark.parametrize("codes", [ImportReason, TableReason, CellReason, NoteKind, Skip, UploadReason])
def test_every_code_an_import_can_show_is_explained_in_both_languages(codes: type[StrEnum]) -> None:
    for code in codes:
        vietnamese, english = import_text(code.value, False), import_text(code.value, True)
        assert vietnamese, code
        assert english, code
        assert vietnamese != english, code


def test_a_units_table_previews_the_units_to_register_then_registers_them(served: Served) -> None:
    csrf = sign_in(served, Role.PROVINCE)
    table = (
        "DANH SÁCH CƠ QUAN, ĐƠN VỊ NĂM 2024\n"
        "\n"
        "Mã đơn vị;Tên đơn vị;Cấp;Hội đồng thẩm định;Bộ tiêu chí\n"
        "so-xay-dung;Sở Xây dựng;Sở;hdtd-tinh;demo-department\n"
    ).encode("utf-8-sig")
    status, text = send(served, csrf, kind="units", data=table, name="don-vi.csv")
    assert status == 200
    assert 'id="new-units"' in text
    assert "Sở Xây dựng" in text
    key = {"X-API-Key": served.keys[Role.PROVINCE].plaintext}
    assert "so-xay-dung" not in {u["unit_id"] for u in served.client.get("/units", headers=key).json()}
    found = TOKEN.search(text)
    assert found is not None
    response = served.client.post("/ui/imports/commit", data={"csrf": csrf, "token": found.group(1)})
    assert response.status_code == 200
    assert 'id="recorded">1<' in response.text
    assert "so-xay-dung" in {u["unit_id"] for u in served.client.get("/units", headers=key).json()}


def test_a_form_with_two_files_is_refused_as_unreadable(served: Served) -> None:
    csrf = sign_in(served, Role.PROVINCE)
    book = appraisal_book(DEMO_YEAR, ROWS)
    response = served.client.post(
        "/ui/imports",
        data={"csrf": csrf, "kind": "appraisals"},
        files=[("file", ("a.xlsx", book, XLSX)), ("file", ("b.xlsx", book, XLSX))],
    )
    assert response.status_code == 400
    assert "bad_form" in response.text
    assert "Biểu mẫu gửi lên không đọc được" in response.text
