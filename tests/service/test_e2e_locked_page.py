"""Drive the chat page in headless Chromium with API_KEY set, under the service's CSP."""

from __future__ import annotations

import pytest

from tests.service.test_e2e_page import chromium_page, running_service

KEY = "k-e2e-locked-page"

pytestmark = [pytest.mark.e2e, pytest.mark.needs("chromium")]


@pytest.fixture
def service(tmp_path, notes_dir):
    with running_service(tmp_path, notes_dir, API_KEY=KEY) as svc:
        yield svc


@pytest.fixture
def browser_page():
    """Yield (page, console messages) in a fresh headless Chromium."""
    with chromium_page() as page:
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        yield page, console


def test_the_page_asks_for_the_key_then_chats_and_reloads_its_history(service, browser_page):
    from playwright.sync_api import expect

    page, console = browser_page
    response = page.goto(service.url + "/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.locator("#status")).to_have_text("ready")
    expect(page.locator(".msg.error .text")).to_have_text("Enter the API key to start a session.")

    page.fill("#api-key", KEY)
    page.dispatch_event("#api-key", "change")  # the page stores the key on change
    expect(page.locator(".msg.error")).to_have_count(0)  # ...and starts the session with it
    page.fill("#question", "What is the task execution role used for?")
    page.press("#question", "Enter")
    expect(page.locator(".msg.assistant .citation .src").first).to_have_text("roles.md")
    session_id = page.evaluate("localStorage.getItem('workbook.session')")
    assert session_id and session_id != "library"

    page.reload()  # the stored key lets the page read the session's history
    expect(page.locator(".msg.user .text")).to_have_text(
        "What is the task execution role used for?"
    )
    expect(page.locator(".msg.assistant .citation .src").first).to_have_text("roles.md")
    assert not [m for m in console if "Content Security Policy" in m], console

    page.evaluate("localStorage.removeItem('workbook.apiKey')")  # a stored session, no key
    page.reload()
    expect(page.locator(".msg.error .text")).to_have_text(
        "Enter the API key to see this session's history."
    )
    page.fill("#api-key", KEY)
    page.dispatch_event("#api-key", "change")  # the same session's history, no new session
    expect(page.locator(".msg.user .text")).to_have_text(
        "What is the task execution role used for?"
    )
    assert page.evaluate("localStorage.getItem('workbook.session')") == session_id
