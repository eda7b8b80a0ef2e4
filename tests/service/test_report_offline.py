"""A chapter's HTML report works with the network off: diagrams drawn, the quiz readable."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from tests.service.test_e2e_page import chromium_page
from workbook.coverage import NOTEBOOK_DIR
from workbook.notebooks import ensure_kernel, run_chapter
from workbook.report import MERMAID_COPY, MERMAID_JS, MERMAID_MISSING, ReportError, render_html

CHAPTER = NOTEBOOK_DIR / "00_start_here.ipynb"  # a mermaid diagram and a quiz
LOCAL = ("file", "data")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Chapter 00 executed by papermill, as `workbook notebooks run` does."""
    result = run_chapter(CHAPTER, tmp_path_factory.mktemp("run"), kernel=ensure_kernel())
    assert result.ok, result.error
    return result.output


def _report(executed, directory, mermaid_js=MERMAID_JS):
    """Render the executed chapter in a directory of its own; return the HTML path."""
    directory.mkdir(parents=True, exist_ok=True)
    return render_html(Path(shutil.copy(executed, directory)), mermaid_js=mermaid_js)


@contextlib.contextmanager
def offline_page():
    """Yield (page, every URL asked for, URLs that tried to leave the machine)."""
    with chromium_page() as page:
        asked: list[str] = []
        left: list[str] = []
        page.on("request", lambda request: asked.append(request.url))

        def block(route):
            if urlsplit(route.request.url).scheme in LOCAL:
                route.continue_()
            else:
                left.append(route.request.url)
                route.abort()

        page.route("**/*", block)
        yield page, asked, left


def test_the_report_names_no_remote_resource(executed, tmp_path):
    report = _report(executed, tmp_path / "reports")
    soup = BeautifulSoup(report.read_text(), "html.parser")
    fetched = [t.get("src") for t in soup.select("script[src], img[src], iframe[src]")]
    fetched += [t.get("href") for t in soup.select("link[href]")]
    assert [u for u in fetched if urlsplit(u).scheme not in ("", "data")] == []
    assert "cdnjs" not in report.read_text() and "unpkg" not in report.read_text()
    if MERMAID_JS.is_file():  # one copy beside the reports, referenced relatively
        assert (report.parent / MERMAID_COPY).stat().st_size == MERMAID_JS.stat().st_size
        assert soup.select_one(f'script[src="{MERMAID_COPY}"]') is not None


@pytest.mark.e2e
@pytest.mark.needs("chromium")
def test_offline_report_draws_the_diagram_and_shows_the_quiz(executed, tmp_path):
    from playwright.sync_api import expect

    if not MERMAID_JS.is_file():
        pytest.fail(f"mermaid is not installed at {MERMAID_JS}: run `make system-deps` (npm ci)")
    report = _report(executed, tmp_path / "reports")
    with offline_page() as (page, asked, left):
        page.goto(report.as_uri())
        diagram = page.locator(".jp-RenderedMermaid figure img").first
        expect(diagram).to_be_visible()
        src = diagram.get_attribute("src")
        assert src.startswith("data:image/svg+xml")
        svg = unquote(src)
        assert "<svg" in svg and "ALB" in svg  # the architecture diagram, drawn
        assert page.locator(".jp-Mermaid.jp-mod-warning").count() == 0
        assert diagram.evaluate("img => img.naturalWidth") > 0

        quiz = page.locator(".wq-quiz")
        expect(quiz).to_be_visible()
        expect(quiz).to_contain_text("Quiz: 3 questions")
        item = quiz.locator('[data-item="architecture-008"]')
        expect(item).to_contain_text("Which pairing of AWS and Azure services is correct?")
        expect(item.locator(".wq-text").first).to_be_visible()
        answer = item.locator("details.wq-answer")
        expect(answer.locator("p").first).to_be_hidden()  # folded until asked for
        answer.locator("summary").click()
        expect(answer).to_contain_text("Registry, secret store and log store map one to one")
        page.screenshot(path="/tmp/report-offline.png", full_page=False)
    assert left == []
    assert {urlsplit(u).scheme for u in asked} <= set(LOCAL), asked


@pytest.mark.e2e
@pytest.mark.needs("chromium")
def test_without_mermaid_the_diagram_shows_its_source_and_says_why(executed, tmp_path):
    from playwright.sync_api import expect

    report = _report(executed, tmp_path / "plain", mermaid_js=None)
    assert not (report.parent / MERMAID_COPY).exists()
    with offline_page() as (page, _asked, left):
        page.goto(report.as_uri())
        source = page.locator(".jp-Mermaid pre.mermaid").first
        expect(source).to_be_visible()
        expect(source).to_contain_text("flowchart")
        note = page.locator(".jp-Mermaid").first.evaluate(
            "el => getComputedStyle(el, '::before').content"
        )
        assert MERMAID_MISSING in note
        expect(page.locator(".wq-quiz")).to_contain_text("architecture-008")
    assert left == []


def test_a_missing_or_broken_notebook_is_named(tmp_path):
    with pytest.raises(ReportError, match=r"no executed notebook at .*missing\.ipynb"):
        render_html(tmp_path / "missing.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("this is not json")
    with pytest.raises(ReportError, match=r"broken\.ipynb is not a notebook"):
        render_html(broken)
