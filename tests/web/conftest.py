"""The demo province served by `serving_app` (API + web) on a local port, and one Chromium.

Chromium is Debian's /usr/bin/chromium (installed by `make`), driven by Playwright for Python;
no browser is ever downloaded. Screenshots go to var/screenshots (or KIEMCHUNG_SCREENSHOTS).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from kiemchung.api import serving_app
from kiemchung.demo import COUNCIL, DEMO_NOW, UNITS, build_demo
from kiemchung.demo_serving import DemoKey, demo_keys, write_serving_files
from kiemchung.runtime.clock import FrozenClock
from kiemchung.runtime.settings import Settings
from services.scoring.access import Role

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = (
    Path(__file__).resolve().parents[2]
    / "kiemchung"
    / "web"
    / "assets"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
SCREENSHOTS = Path(os.environ.get("KIEMCHUNG_SCREENSHOTS", "var/screenshots"))
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SERVER_START_SECONDS = 20.0
DEMO_UNITS = 5  # the fifth unit is evaluated but not ranked, and does not submit


@dataclass(frozen=True)
class Site:
    url: str
    keys: dict[Role, DemoKey]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from demo_site(tmp_path_factory.mktemp("web-demo"))


def demo_site(workdir: Path, criteria_dir: Path | None = None) -> Iterator[Site]:
    """The demo province built in `workdir` and served until the generator closes; with
    `criteria_dir`, the province's rules files in it apply (a module overriding `site`)."""
    build_demo(workdir, DEMO_UNITS, show_progress=False)
    keys = demo_keys(COUNCIL, UNITS[0].unit_id)
    write_serving_files(workdir, keys, env_file=workdir / "kiemchung.env")
    settings = Settings(
        data_dir=workdir / "state",
        api_keys_file=workdir / "api-keys.json",
        fetch_file_root=workdir / "edocs",
        trust_dirs=[workdir / "trust"],
        web_session_secret="browser-tests",
        criteria_dir=criteria_dir,
    )
    # A day after the demo: the submitted units can be appraised, nothing is locked yet.
    clock = FrozenClock(DEMO_NOW + timedelta(days=1), step=timedelta(milliseconds=1))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(serving_app(settings, clock=clock), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", {k.role: k for k in keys})
    server.should_exit = True
    thread.join(timeout=10)


# Module scope, not session: Playwright's sync API keeps an event loop running while it lives,
# and later test modules call asyncio.run.
@pytest.fixture(scope="module")
def playwright(site: Site) -> Iterator[Playwright]:
    # After `site`: the demo runs its own event loop, which must not be inside Playwright's.
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make install installs it)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def signed_in(browser: Browser, site: Site, role: Role, viewport: dict[str, int] = DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport, locale="vi-VN")  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{site.url}/ui/signin")
    page.get_by_label("Khóa truy cập (API key)").fill(site.keys[role].plaintext)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    return page


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (ids and the first target)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes[0].target.join(' '))"
    )
    return [str(item) for item in found]
