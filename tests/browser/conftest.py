"""Browser fixtures: headless Debian Chromium through Playwright (no browser downloads).

``browser`` is one Chromium for the session; ``page`` is a fresh context and page per test.
Requests that leave loopback (the catalogue's hot-linked product images, for one) are
aborted, so the tests are hermetic and never wait on the network; images then show the
styled placeholder. ``screenshot(page, name)`` saves the page at 390 px and 1280 px wide
into tests/browser/screenshots/ (git-ignored).
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
WIDTHS = {390: 844, 1280: 900}
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; skips when Debian's Chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium); "
                    "Playwright's own browser downloads are not used")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def block_outside_requests(context) -> None:
    """Abort every request whose host is not loopback (pages, localstripe and data: pass)."""
    def handle(route):
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOOPBACK or f"[{host}]" in LOOPBACK:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", handle)


@pytest.fixture()
def new_context(browser):
    """A factory for browser contexts (kwargs go to ``browser.new_context``), closed after the test.

    Each context gets a 390 px viewport, a 15 s default timeout and the loopback-only rule.
    """
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("viewport", {"width": 390, "height": WIDTHS[390]})
        context = browser.new_context(**kwargs)
        context.set_default_timeout(15_000)
        block_outside_requests(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture()
def page(new_context):
    """A page in a fresh JavaScript-enabled context; script errors are printed on failure."""
    context = new_context()
    page = context.new_page()
    watch_console(page)
    return page


def watch_console(page) -> None:
    """Print the page's script errors and console errors (shown when a test fails); the
    aborted off-loopback requests are left out."""
    def on_console(msg):
        if msg.type == "error" and "net::ERR_FAILED" not in msg.text:
            print(f"[console.error] {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: print(f"[pageerror] {error}"))


def screenshot(page, name: str, full_page: bool = True) -> list[Path]:
    """Save ``page`` as ``<name>-390.png`` and ``<name>-1280.png``; restores the viewport."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    if full_page:  # from the top, else the sticky header lands mid-page in the capture
        page.evaluate("() => window.scrollTo(0, 0)")
    paths = []
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(250)  # let layout, transitions and lazy images settle
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="initial")
        paths.append(path)
    if original:
        page.set_viewport_size(original)
    return paths


@pytest.fixture()
def shoot():
    return screenshot
