"""Drive the chat page in headless Chromium: upload, ask, see a cited answer, reload."""

from __future__ import annotations

import atexit
import contextlib
import json
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

pytestmark = [pytest.mark.e2e, pytest.mark.needs("chromium")]


@pytest.fixture
def service(tmp_path, notes_dir):
    with running_service(tmp_path, notes_dir) as svc:
        yield svc


@contextlib.contextmanager
def running_service(tmp_path, notes_dir, **env: str):
    """Run `python -m service` on a fresh DATA_DIR (plus `env`) until /ready; stop it after."""
    svc = ServiceProcess(
        {"DATA_DIR": str(tmp_path / "data"), "LIBRARY_DIR": str(notes_dir), **env},
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
    with chromium_page() as pg:
        yield pg


_BROWSER: list = []  # (playwright, browser): one headless Chromium per test process


def _browser():
    """Return this process's headless Chromium (Debian's), launched on first use."""
    if not _BROWSER or not _BROWSER[1].is_connected():
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        _BROWSER[:] = [playwright, browser]
        atexit.register(_close, playwright, browser)
    return _BROWSER[1]


def _close(playwright, browser) -> None:
    with contextlib.suppress(Exception):  # the browser may already be gone at exit
        browser.close()
        playwright.stop()


@contextlib.contextmanager
def chromium_page():
    """Yield a 1200 x 800 page in a fresh browser context (no cookies, no storage) of Chromium.

    The browser is launched once per test process (about 1 s of CPU each time otherwise); a
    new context is as isolated as a new browser for what these tests look at.
    """
    context = _browser().new_context(viewport={"width": 1200, "height": 800})
    try:
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        yield pg
    finally:
        context.close()


def test_notes_follow_ups_then_upload_into_the_same_session(service, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(service.url + "/")
    expect(page.locator("#status")).to_have_text("ready")
    # First load: a library-backed session of this browser's own, ready for questions.
    expect(page.locator("#session-label")).to_contain_text("Notes + your documents")
    session_id = page.evaluate("localStorage.getItem('workbook.session')")
    assert session_id and session_id != "library"
    expect(page.locator("#session-label")).to_contain_text(session_id[:8])

    page.fill("#question", "What is the task execution role used for?")
    page.press("#question", "Enter")
    expect(page.locator(".msg.assistant .citation .src").first).to_have_text("roles.md")
    open_cited_note(page, page.locator(".msg.assistant .citation").first)
    page.fill("#question", "and what can it fetch?")  # a follow-up: needs this session's history
    page.click("#send-btn")
    expect(page.locator(".msg.assistant")).to_have_count(2)
    follow_up = page.locator(".msg.assistant").last
    expect(follow_up.locator(".citation .src").first).to_have_text("roles.md")

    note = tmp_path / "guide.md"
    note.write_text(GUIDE_MD)
    page.set_input_files("#files", str(note))
    page.click("#upload-btn")
    expect(page.locator("#upload-status")).to_contain_text("indexed 1 file")
    expect(page.locator("#documents li")).to_contain_text("guide.md")
    assert page.evaluate("localStorage.getItem('workbook.session')") == session_id

    page.fill("#question", "What does the circuit breaker do?")
    page.click("#send-btn")
    answer = page.locator(".msg.assistant").nth(2)
    expect(answer.locator(".text")).to_contain_text("roll")
    expect(answer.locator(".citation .src").first).to_have_text("guide.md")
    # An upload is not served: its citation names the file and section, without a link.
    expect(answer.locator(".citation").first.locator("span.src")).to_have_text("guide.md")
    expect(answer.locator(".citation").first.locator(".sec")).to_have_text(" · Circuit breaker")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.reload()  # the conversation and the documents come back
    expect(page.locator("#session-label")).to_contain_text(session_id[:8])
    expect(page.locator(".msg.user .text")).to_have_count(3)
    expect(page.locator(".msg.user .text").first).to_have_text(
        "What is the task execution role used for?"
    )
    # ...with the links of the notes' citations, which history keeps.
    open_cited_note(page, page.locator(".msg.assistant .citation").first)
    expect(page.locator("#documents li")).to_contain_text("guide.md")
    status, body = service.get("/sessions/library/history")  # the shared id stores nothing
    assert status == 200 and json.loads(body)["messages"] == []


def open_cited_note(page, citation) -> None:
    """Click a citation of roles.md's execution-role section: its note opens at that heading."""
    from playwright.sync_api import expect

    link = citation.locator("a.src")
    expect(link).to_have_attribute("href", "/notes/roles.md#execution-role")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    expect(citation.locator(".sec")).to_have_text(" · Execution role")
    with page.context.expect_page() as opened:
        link.click()
    note = opened.value
    try:
        note.wait_for_load_state()
        assert note.url.endswith("/notes/roles.md#execution-role")
        heading = note.locator("h2#execution-role")
        expect(heading).to_have_text("Execution role")
        expect(heading).to_be_in_viewport()
        assert note.evaluate("document.querySelector(':target').id") == "execution-role"
        # The stylesheet applies under the page's CSP: a readable column.
        assert note.eval_on_selector(".note", "e => getComputedStyle(e).maxWidth") == "820px"
        assert note.evaluate("window.opener") is None  # rel=noopener
    finally:
        note.close()


def stored_session(page, unlike: tuple[str, ...] = ()) -> str:
    """Wait until the page has stored a session id other than `unlike`; return it."""
    page.wait_for_function(
        "(unlike) => { const v = localStorage.getItem('workbook.session');"
        " return v && !unlike.includes(v); }",
        arg=list(unlike),
    )
    return page.evaluate("localStorage.getItem('workbook.session')")


def test_new_chat_and_a_vanished_session_start_fresh(service, page):
    from playwright.sync_api import expect

    page.goto(service.url + "/")
    expect(page.locator("#session-label")).to_contain_text("Notes + your documents")
    first = stored_session(page)
    page.fill("#question", "What does the task execution role do?")
    page.press("#question", "Enter")
    expect(page.locator(".msg.assistant .citation .src").first).to_have_text("roles.md")

    page.click("#new-btn")
    expect(page.locator(".msg")).to_have_count(0)
    # The page shows "No session yet" until POST /sessions answers: wait for the new id.
    second = stored_session(page, unlike=(first,))
    expect(page.locator("#session-label")).to_contain_text(second[:8])
    assert second != "library"

    # A session deleted elsewhere (or an old page's "library") is replaced by a new one.
    for stale in ("gone-session", "library"):
        page.evaluate(f"localStorage.setItem('workbook.session', '{stale}')")
        page.reload()
        fresh = stored_session(page, unlike=(stale, first, second))
        expect(page.locator("#session-label")).to_contain_text(fresh[:8])


def test_a_refused_upload_reads_as_an_error_and_clears_the_file_choice(service, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(service.url + "/")
    expect(page.locator("#status")).to_have_text("ready")
    stored_session(page)
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x90\x00 not a document")
    page.set_input_files("#files", str(bad))
    page.click("#upload-btn")
    status = page.locator("#upload-status")
    expect(status).to_contain_text("tool.exe")  # the service's own detail, naming the file
    expect(status).to_have_class("hint error")
    assert page.eval_on_selector("#files", "e => e.files.length") == 0

    good = tmp_path / "ok.md"
    good.write_text("# OK\n\nThe ok note says ECR holds images.\n")
    page.set_input_files("#files", str(good))
    page.click("#upload-btn")
    expect(status).to_contain_text("indexed 1 file")
    expect(status).to_have_class("hint")  # no longer styled as an error

    icon = page.request.get(service.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_an_unreachable_service_says_what_to_do(service, page):
    from playwright.sync_api import expect

    page.goto(service.url + "/")
    expect(page.locator("#status")).to_have_text("ready")
    stored_session(page)
    page.route("**/chat", lambda route: route.abort())  # no answer at all, as when it is down
    page.fill("#question", "What is ECR?")
    page.press("#question", "Enter")
    expect(page.locator(".msg.error .text")).to_have_text(
        "Cannot reach the service: check that it is running, then try again."
    )
    page.unroute("**/chat")
    page.route(
        "**/chat",
        lambda route: route.fulfill(
            status=502, body="Bad Gateway", headers={"x-request-id": "abc123"}
        ),
    )  # a proxy's bare error page, as an ALB gives when no target answers
    page.fill("#question", "What is ECR?")
    page.press("#question", "Enter")
    expect(page.locator(".msg.error .text").last).to_have_text(
        "The service failed (HTTP 502). Try again in a moment. Quote request id abc123 if you "
        "report it."
    )


@pytest.mark.parametrize("width", [1200, 360])
def test_the_session_id_is_never_broken_across_lines(service, page, width):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 800})
    page.goto(service.url + "/")
    session_id = stored_session(page)
    sid = page.locator("#session-label .sid")
    expect(sid).to_have_text(session_id[:8])
    size = page.eval_on_selector(
        "#session-label .sid", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert sid.bounding_box()["height"] <= size * 1.6  # one line
    assert page.locator("#session-label").get_attribute("title") == session_id  # all of it on hover
