"""Long quiz options wrap readably: no label overprints another, none is clipped.

The widget's options are rows of a toggle and an HTML text whose layout rules live in
quizzes/quiz.css; the quiz's static form (what a report shows) uses the same rows and
rules. Both are measured in Chromium: the live widget in a real JupyterLab (this venv's,
on 127.0.0.1, at its default window size and a narrow one), the static form through the
report template; every option's box is checked for overlap and clipping.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from quizzes.config import PACKAGE_DIR
from quizzes.loader import load_bank
from quizzes.progress import ProgressStore
from quizzes.widget import quiz_widget
from service.server import free_port
from tests.service.test_e2e_page import chromium_page
from workbook.notebooks import ensure_kernel
from workbook.report import render_html

# The items seen overprinted or clipped in JupyterLab 4.6 (issue 12).
LONG_ITEMS = ["architecture-008", "ecs-service-015", "ecs-service-007"]
NOTEBOOK_WIDTH = 900  # about JupyterLab's notebook panel with the file browser open
NARROW = 420  # a side-by-side window: every long label has to wrap

pytestmark = [pytest.mark.e2e, pytest.mark.needs("chromium")]

MEASURE = """() => [...document.querySelectorAll('.wq-row')].map(row => {
  const text = row.querySelector('.wq-text');
  const box = text.getBoundingClientRect();
  return {
    item: row.closest('.wq-item').dataset.item
      || row.closest('.wq-item').querySelector('.wq-head b').textContent,
    text: text.textContent,
    top: box.top, bottom: box.bottom, left: box.left, right: box.right,
    scrollWidth: text.scrollWidth, clientWidth: text.clientWidth,
    scrollHeight: text.scrollHeight, clientHeight: text.clientHeight,
    rowScrollWidth: row.scrollWidth, rowClientWidth: row.clientWidth,
    lineHeight: parseFloat(getComputedStyle(text).lineHeight),
    viewport: document.documentElement.clientWidth,
  };
})"""


def layout_problems(rows: list[dict]) -> list[str]:
    """Return what is wrong with the measured option labels: overlaps and clipping."""
    problems = []
    for r in rows:
        name = f"{r['item']} {r['text'][:40]!r}"
        if r["scrollWidth"] > r["clientWidth"] or r["rowScrollWidth"] > r["rowClientWidth"]:
            problems.append(f"{name} is clipped sideways")
        if r["scrollHeight"] > r["clientHeight"] + 1:
            problems.append(f"{name} is clipped at the bottom")
        if r["right"] > r["viewport"] + 0.5:
            problems.append(f"{name} runs past the page's right edge")
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            apart = (
                a["bottom"] <= b["top"] + 0.5
                or b["bottom"] <= a["top"] + 0.5
                or a["right"] <= b["left"] + 0.5
                or b["right"] <= a["left"] + 0.5
            )
            if not apart:
                problems.append(f"{a['item']} {a['text'][:30]!r} overlaps {b['text'][:30]!r}")
    return problems


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The quiz of the long items as a report shows it (the widget's own mimebundle)."""
    tmp = tmp_path_factory.mktemp("quiz")
    bank = load_bank(PACKAGE_DIR / "bank", PACKAGE_DIR / "sections.yaml")
    with ProgressStore(tmp / "progress.sqlite") as store:
        box = quiz_widget(item_ids=LONG_ITEMS, bank=bank, store=store)
        bundle = box._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("quiz")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb.cells = [cell]
    path = tmp / "quiz.ipynb"
    nbformat.write(nb, path)
    return render_html(path, mermaid_js=None)


def _measure(report, width: int, extra_css: str = "", shot: str = "") -> list[dict]:
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(report.as_uri())
        if extra_css:
            page.add_style_tag(content=extra_css)
        if shot:
            page.locator(".wq-quiz").screenshot(path=f"/tmp/quiz-widget-layout-{shot}.png")
        return page.evaluate(MEASURE)


@pytest.mark.parametrize("width", [NOTEBOOK_WIDTH, NARROW])
def test_long_options_wrap_without_overlap_or_clipping(report, width):
    rows = _measure(report, width, shot=str(width))
    assert {r["item"] for r in rows} == set(LONG_ITEMS)
    assert len(rows) == 4 + 4 + 5  # every option of the three items is on the page
    assert layout_problems(rows) == []
    if width == NARROW:  # the long labels really did wrap onto more lines
        wrapped = [r for r in rows if r["bottom"] - r["top"] > 1.5 * r["lineHeight"]]
        assert len(wrapped) >= 3, [r["text"] for r in rows]


def test_the_check_sees_labels_that_do_not_wrap(report):
    # ipywidgets' own label rules (one fixed-height line, clipped): the test must catch them
    # (!important: the quiz's own stylesheet comes later in the page than an added one)
    fixed = ".wq-text { white-space: nowrap !important; overflow: hidden; height: 20px; }"
    problems = layout_problems(_measure(report, NARROW, fixed))
    assert any("clipped sideways" in p for p in problems), problems
    overprint = ".wq-row { height: 12px; } .wq-text { overflow: visible; }"  # tall text, short row
    problems = layout_problems(_measure(report, NARROW, overprint))
    assert any("overlaps" in p for p in problems), problems


LAB_WINDOW = 1280  # JupyterLab's notebook output is about 850 px wide in it, file browser open
LAB_NARROW = 760
KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const session = panel && panel.sessionContext && panel.sessionContext.session;
  return Boolean(session && session.kernel && session.kernel.status === 'idle');
}"""


@contextlib.contextmanager
def jupyterlab(tmp: Path):
    """Run this venv's JupyterLab on 127.0.0.1 over a notebook showing the long items."""
    root = tmp / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    kernel = ensure_kernel()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    source = f"from quizzes.widget import quiz_widget\nquiz_widget(item_ids={LONG_ITEMS!r})"
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, root / "quiz.ipynb")
    port, token = free_port(), "quiz-layout"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "QUIZ_DB": str(tmp / "progress.sqlite"),
    }
    args = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--LabApp.extension_manager=readonly",  # no package index lookups
        "--LabApp.news_url=None",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run cells, see the kernel
    ]
    with open(tmp / "lab.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp / "lab.log").read_text()
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp / "lab.log").read_text()
                time.sleep(0.2)
        yield f"{base}/lab/tree/quiz.ipynb?token={token}", base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernel down
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_live_widget_in_jupyterlab_wraps_and_picks_one(tmp_path):
    from playwright.sync_api import expect

    with jupyterlab(tmp_path) as (url, base), chromium_page() as page:
        left: list[str] = []

        def local_only(route):
            if route.request.url.startswith((base + "/", "data:", "blob:")):
                route.continue_()
            else:
                left.append(route.request.url)
                route.abort()

        page.route("**/*", local_only)
        page.set_default_timeout(90_000)
        page.set_viewport_size({"width": LAB_WINDOW, "height": 900})
        page.goto(url)
        page.wait_for_function(KERNEL_IDLE)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        expect(page.locator(".wq-row .wq-text").first).to_be_visible()
        expect(page.locator(".wq-row")).to_have_count(4 + 4 + 5)
        for width in (LAB_WINDOW, LAB_NARROW):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(500)  # JupyterLab lays its panels out again
            page.screenshot(path=f"/tmp/quiz-widget-jupyterlab-{width}.png")
            rows = page.evaluate(MEASURE)
            assert {r["item"] for r in rows} == set(LONG_ITEMS)
            assert layout_problems(rows) == [], width
        wrapped = [r for r in rows if r["bottom"] - r["top"] > 1.5 * r["lineHeight"]]
        assert len(wrapped) >= 3, [r["text"] for r in rows]  # narrow: long labels wrapped

        # single choice: a second pick replaces the first; Check grades the one picked
        card = page.locator(".wq-item").filter(has_text="ecs-service-015")
        toggles = card.locator(".wq-row button")
        toggles.nth(1).click()
        toggles.nth(3).click()
        expect(card.locator(".wq-row button.mod-active")).to_have_count(1)
        expect(toggles.nth(3)).to_have_class(re.compile(r"\bmod-active\b"))
        card.get_by_role("button", name="Check").click()
        expect(card).to_contain_text("GOOD")
    assert left == []
