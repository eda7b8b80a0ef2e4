"""Crafted PDFs are parsed in a child process under limits: refused, nothing written.

The PDFs are the probe's: pages sharing one compressed 5 MB content stream (16 KB on disk),
one 16 KB page holding millions of characters, thousands of pages, a page tree whose /Count
lies, and a stream that inflates to 70 MB. Durations are never asserted (see bench/).
"""

from __future__ import annotations

import signal
import threading

import pytest

import service.sandbox as sandbox_module
from service.rag.errors import CorruptDocumentError
from service.rag.pdftext import LimitError
from service.sandbox import ParseFailed, ParseLimits, Sandbox
from tests.service.builders import CORRUPT_PDF, make_pdf
from tests.service.conftest import started, upload
from tests.service.crafted import (
    huge_single_page,
    inflating_stream,
    many_pages,
    pages_sharing_one_stream,
)
from tests.service.test_documents import stored_files

LIMITS = ParseLimits(
    max_pages=200,
    max_chars=1_000_000,
    max_page_bytes=1024 * 1024,
    cpu_s=5,
    timeout_s=60,
    memory_mb=512,
)
# Lets a crafted page through the content check, so that a later limit has to stop it.
NO_PAGE_CAP = {"MAX_PDF_PAGE_KB": 100_000}


@pytest.fixture
def box():
    """Return a sandbox of its own (its spare child stopped afterwards)."""
    sandbox = Sandbox()
    yield sandbox
    sandbox.close()


@pytest.mark.parametrize(
    ("env", "name", "pdf", "words"),
    [
        ({}, "shared.pdf", pages_sharing_one_stream(), ["page 1", "MAX_PDF_PAGE_KB=1024"]),
        ({}, "page.pdf", huge_single_page(), ["page 1 draws", "MAX_PDF_PAGE_KB=1024"]),
        (
            {**NO_PAGE_CAP, "PARSE_CPU_S": 1},
            "cpu.pdf",
            pages_sharing_one_stream(),
            ["PARSE_CPU_S=1"],
        ),
        ({**NO_PAGE_CAP, "PARSE_CPU_S": 1}, "cpu1.pdf", huge_single_page(), ["PARSE_CPU_S=1"]),
        ({}, "many.pdf", many_pages(5000), ["5,000 pages", "MAX_PDF_PAGES=200"]),
        ({}, "lying.pdf", many_pages(300, declared=1), ["300 pages", "MAX_PDF_PAGES=200"]),
        (
            {**NO_PAGE_CAP, "MAX_UPLOAD_TEXT_CHARS": 100_000, "PARSE_CPU_S": 60},
            "wordy.pdf",
            huge_single_page(30_000),
            ["at least 780,000 characters", "MAX_UPLOAD_TEXT_CHARS=100000"],
        ),
        (
            # Long enough for the good PDF that follows to parse on a busy machine, far too
            # short for the crafted one (about 18 s of CPU).
            {**NO_PAGE_CAP, "PARSE_CPU_S": 60, "PARSE_TIMEOUT_S": 3},
            "slow.pdf",
            pages_sharing_one_stream(),
            ["PARSE_TIMEOUT_S=3"],
        ),
        ({"PARSE_MEMORY_MB": 128}, "bomb.pdf", inflating_stream(70), ["PARSE_MEMORY_MB=128"]),
    ],
    ids=[
        "shared-stream",
        "huge-page",
        "cpu-shared",
        "cpu-page",
        "many-pages",
        "lying-count",
        "text",
        "wall",
        "memory",
    ],
)
def test_a_crafted_pdf_is_refused_and_nothing_is_written(make_settings, env, name, pdf, words):
    c = started(make_settings(**env))
    try:
        r = upload(c, ("good.md", b"# Good\n\nA fine note."), (name, pdf))
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail.startswith(f"{name}: ")
        for word in words:
            assert word in detail, detail
        assert stored_files(c.app.state.settings.data_dir) == []
        assert c.get("/health").status_code == 200
        # The service still parses a good PDF afterwards.
        ok = upload(c, ("net.pdf", make_pdf(["Fargate tasks need awsvpc networking."])))
        assert ok.status_code == 200, ok.text
    finally:
        c.__exit__(None, None, None)


def test_the_sandbox_returns_every_page_of_a_good_pdf(box):
    pages = box.parse(make_pdf(["First page.", "Second page."]), "a.pdf", LIMITS, threading.Event())
    assert [p.strip() for p in pages] == ["First page.", "Second page."]


def test_the_sandbox_reports_the_readers_own_errors(box):
    with pytest.raises(CorruptDocumentError, match="cannot parse the PDF"):
        box.parse(CORRUPT_PDF, "broken.pdf", LIMITS, threading.Event())
    with pytest.raises(LimitError) as info:
        box.parse(many_pages(250), "many.pdf", LIMITS, threading.Event())
    assert (info.value.what, info.value.seen, info.value.limit) == ("pages", 250, 200)


def test_a_parse_over_its_cpu_limit_is_killed_by_the_kernel(box, monkeypatch):
    children = []
    start = sandbox_module._start
    monkeypatch.setattr(sandbox_module, "_start", lambda: children.append(start()) or children[-1])
    limits = ParseLimits(200, 1_000_000, 100 << 20, cpu_s=1, timeout_s=60, memory_mb=512)
    with pytest.raises(ParseFailed, match="PARSE_CPU_S=1") as info:
        box.parse(huge_single_page(), "page.pdf", limits, threading.Event())
    assert info.value.kind == "cpu"
    parser = next(child for child in children if child.returncode is not None)
    assert parser.returncode == -signal.SIGXCPU  # RLIMIT_CPU, not the parent's timer


def test_a_cancelled_parse_kills_its_child(box, monkeypatch):
    children = []
    start = sandbox_module._start
    monkeypatch.setattr(sandbox_module, "_start", lambda: children.append(start()) or children[-1])
    cancelled = threading.Event()
    cancelled.set()  # the client is already gone: the parse must stop at its first check
    with pytest.raises(ParseFailed) as info:
        box.parse(pages_sharing_one_stream(), "shared.pdf", LIMITS, cancelled)
    assert info.value.kind == "cancelled"
    parser = next(child for child in children if child.returncode is not None)
    assert parser.returncode == -signal.SIGKILL


def test_a_spare_child_serves_the_next_parse(box, monkeypatch):
    box.warm()
    spare = box._spare
    started_now = []
    start = sandbox_module._start
    monkeypatch.setattr(
        sandbox_module, "_start", lambda: started_now.append(start()) or started_now[-1]
    )
    box.parse(make_pdf(["Hello."]), "a.pdf", LIMITS, threading.Event())
    assert spare.returncode == 0  # the warm child did the work and exited
    assert len(started_now) == 1 and box._spare is started_now[0]  # one new spare, no more


def _parsers() -> list:
    import psutil

    return [
        p
        for p in psutil.Process().children(recursive=True)
        if "service.sandbox" in " ".join(p.cmdline())
    ]


def test_the_app_parses_with_its_warm_child_and_stops_it_at_shutdown(make_settings):
    before = {p.pid for p in _parsers()}
    c = started(make_settings())
    try:
        spare = c.app.state.runtime.parser._spare  # warmed while the app loaded
        assert spare is not None and spare.poll() is None
        ok = upload(c, ("net.pdf", make_pdf(["Fargate tasks need awsvpc networking."])))
        assert ok.status_code == 200, ok.text
        assert spare.poll() == 0  # the warm child did the parse (and a new one waits)
    finally:
        c.__exit__(None, None, None)
    assert {p.pid for p in _parsers()} - before == set()  # no parser outlives its app
