"""Drive the chat page in headless Chromium: upload, ask, see a cited answer, reload."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.service.builders import GUIDE_MD
from tests.service.server import ServiceProcess

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/service-chat-page.png")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def service(tmp_path, notes_dir):
    svc = ServiceProcess(
        {"DATA_DIR": str(tmp_path / "data"), "LIBRARY_DIR": str(notes_dir)},
        tmp_path / "service.log",
    )
    try:
        svc.wait_for("/ready")
        yield svc
    finally:
        if svc.proc.poll() is None:
            svc.proc.send_signal(signal.SIGTERM)
            svc.proc.wait(15)
        svc.stop()


@pytest.fixture
def page(service):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1200, "height": 800})
            pg.set_default_timeout(20_000)
            yield pg
        finally:
            browser.close()


def test_upload_ask_and_reload(service, page, tmp_path):
    from playwright.sync_api import expect

    note = tmp_path / "guide.md"
    note.write_text(GUIDE_MD)
    page.goto(service.url + "/")
    expect(page.locator("#status")).to_have_text("ready")
    expect(page.locator("#session-label")).to_have_text("Notes library")

    page.set_input_files("#files", str(note))
    page.click("#upload-btn")
    expect(page.locator("#upload-status")).to_contain_text("indexed 1 file")
    expect(page.locator("#documents li")).to_contain_text("guide.md")
    session_id = page.evaluate("localStorage.getItem('workbook.session')")
    assert session_id and session_id != "library"

    page.fill("#question", "What does the circuit breaker do?")
    page.click("#send-btn")
    answer = page.locator(".msg.assistant").last
    expect(answer.locator(".text")).to_contain_text("roll")
    expect(answer.locator(".citation .src").first).to_have_text("guide.md")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.reload()
    expect(page.locator("#session-label")).to_contain_text(session_id[:8])
    expect(page.locator(".msg.user .text")).to_have_text("What does the circuit breaker do?")
    expect(page.locator(".msg.assistant .citation .src").first).to_have_text("guide.md")


def test_library_answers_and_errors_show(service, page):
    from playwright.sync_api import expect

    page.goto(service.url + "/")
    page.fill("#question", "What does the task execution role do?")
    page.press("#question", "Enter")
    expect(page.locator(".msg.assistant .citation .src").first).to_have_text("roles.md")
    page.evaluate("localStorage.setItem('workbook.session', 'gone-session')")
    page.reload()  # a session deleted elsewhere falls back to the library
    expect(page.locator("#session-label")).to_have_text("Notes library")
