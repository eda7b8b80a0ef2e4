"""Upload and session limits: each refusal is a 413/422 naming its variable and writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.config import Settings
from tests.service.builders import make_pdf
from tests.service.conftest import started, upload
from tests.service.test_documents import stored_files


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Return a factory of started clients with the given limits (env names)."""
    clients: list[TestClient] = []

    def make(**env: object) -> TestClient:
        clients.append(started(make_settings(**env)))
        return clients[-1]

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def snapshot(data_dir: Path) -> dict[Path, bytes]:
    """Return every stored file with its content (to show an upload changed nothing)."""
    return {p: p.read_bytes() for p in stored_files(data_dir)}


def refused(r, status: int, *words: str) -> str:
    """Assert a refusal's status and that its detail holds every word; return the detail."""
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


def sections(n: int) -> bytes:
    """Return a Markdown note of `n` short sections (one chunk each)."""
    return "\n\n".join(f"## Part {i}\n\nText of part {i}." for i in range(n)).encode()


# -- MAX_UPLOAD_TEXT_CHARS -------------------------------------------------------------------
def test_the_default_text_cap_refuses_a_huge_single_line_file(client, settings):
    # The probe's 10 MB single line became 15,421 chunks; 3 MB is already three times the cap.
    r = upload(client, ("line.txt", b"x" * 3_000_000))
    refused(r, 422, "line.txt", "3,000,000 characters", "MAX_UPLOAD_TEXT_CHARS=1000000")
    assert stored_files(settings.data_dir) == []


def test_text_over_the_cap_is_refused(make_client):
    c = make_client(MAX_UPLOAD_TEXT_CHARS=1000)
    r = upload(c, ("notes.txt", b"a" * 1500))
    refused(r, 422, "notes.txt", "1,500 characters", "1,000", "MAX_UPLOAD_TEXT_CHARS=1000")
    assert stored_files(c.app.state.settings.data_dir) == []


def test_the_text_cap_counts_every_file_of_the_upload(make_client):
    c = make_client(MAX_UPLOAD_TEXT_CHARS=1000)
    r = upload(c, ("a.txt", b"a " * 300), ("b.txt", b"b " * 300))
    refused(r, 422, "b.txt", "after 600", "MAX_UPLOAD_TEXT_CHARS=1000")
    assert stored_files(c.app.state.settings.data_dir) == []
    assert upload(c, ("a.txt", b"a " * 300)).status_code == 200  # alone, it fits


def test_the_text_cap_stops_reading_a_pdf(make_client):
    c = make_client(MAX_UPLOAD_TEXT_CHARS=100)
    pdf = make_pdf(["Fargate tasks need awsvpc networking. " * 2] * 5)
    r = upload(c, ("long.pdf", pdf))
    refused(r, 422, "long.pdf", "at least", "MAX_UPLOAD_TEXT_CHARS=100")
    assert stored_files(c.app.state.settings.data_dir) == []


# -- MAX_CHUNKS_PER_UPLOAD -------------------------------------------------------------------
def test_chunks_over_the_upload_cap_are_refused(make_client):
    c = make_client(MAX_CHUNKS_PER_UPLOAD=3)
    r = upload(c, ("parts.md", sections(5)))
    refused(r, 422, "parts.md", "more than 3 chunks", "MAX_CHUNKS_PER_UPLOAD=3")
    assert stored_files(c.app.state.settings.data_dir) == []
    assert upload(c, ("parts.md", sections(3))).json()["chunks_indexed"] == 3


# -- MAX_CHUNKS_PER_SESSION ------------------------------------------------------------------
def test_a_new_session_over_the_chunk_cap_is_refused(make_client):
    c = make_client(MAX_CHUNKS_PER_SESSION=2)
    r = upload(c, ("parts.md", sections(3)))
    refused(r, 413, "a new session", "3 chunks", "MAX_CHUNKS_PER_SESSION=2")
    assert stored_files(c.app.state.settings.data_dir) == []


def test_an_upload_that_would_overfill_a_session_leaves_it_unchanged(make_client):
    c = make_client(MAX_CHUNKS_PER_SESSION=4)
    sid = upload(c, ("first.md", sections(3))).json()["session_id"]
    data_dir = c.app.state.settings.data_dir
    before = snapshot(data_dir)
    r = upload(c, ("second.md", sections(2)), session_id=sid)
    refused(r, 413, sid, "5 chunks", "3 already", "MAX_CHUNKS_PER_SESSION=4")
    assert snapshot(data_dir) == before
    assert [d["name"] for d in c.get(f"/sessions/{sid}/history").json()["documents"]] == [
        "first.md"
    ]
    assert upload(c, ("second.md", sections(1)), session_id=sid).status_code == 200


# -- SESSION_QUOTA_MB ------------------------------------------------------------------------
def test_documents_over_the_quota_are_refused_before_parsing(make_client, monkeypatch):
    c = make_client(SESSION_QUOTA_MB=0.001)  # about 1 KB
    uploads = c.app.state.runtime.uploads
    monkeypatch.setattr(uploads, "_read_all", lambda *a: pytest.fail("parsed over quota"))
    r = upload(c, ("big.md", b"# Big\n\n" + b"word " * 500))
    refused(r, 413, "a new session", "documents", "SESSION_QUOTA_MB=0.001")
    assert stored_files(c.app.state.settings.data_dir) == []


def test_the_quota_counts_the_index_snapshot(make_client):
    # 200 bytes of text fit in 10 KB, but one chunk's index snapshot (a 16 KB vector) does not.
    c = make_client(SESSION_QUOTA_MB=0.01)
    r = upload(c, ("small.md", b"# Small\n\n" + b"word " * 40))
    detail = refused(r, 413, "a new session", "index", "SESSION_QUOTA_MB=0.01")
    assert "documents 0.2 KB + index" in detail
    assert stored_files(c.app.state.settings.data_dir) == []


def test_an_upload_over_the_quota_leaves_the_session_unchanged(make_client):
    c = make_client(SESSION_QUOTA_MB=0.1)  # about 100 KB: one small note and its index fit
    sid = upload(c, ("first.md", b"# First\n\nA short note.")).json()["session_id"]
    data_dir = c.app.state.settings.data_dir
    before = snapshot(data_dir)
    r = upload(c, ("second.txt", b"word " * 30_000), session_id=sid)
    refused(r, 413, sid, "SESSION_QUOTA_MB=0.1")
    assert snapshot(data_dir) == before


# -- MAX_PDF_PAGES ---------------------------------------------------------------------------
def test_a_pdf_over_the_page_cap_is_refused(make_client):
    c = make_client(MAX_PDF_PAGES=3)
    pdf = make_pdf([f"Page {i} about ECS." for i in range(5)])
    r = upload(c, ("five.pdf", pdf))
    refused(r, 422, "five.pdf", "5 pages", "at most 3 per PDF", "MAX_PDF_PAGES=3")
    assert stored_files(c.app.state.settings.data_dir) == []
    assert upload(c, ("three.pdf", make_pdf(["a", "b", "c"]))).status_code == 200


# -- the settings themselves -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX_UPLOAD_TEXT_CHARS", "0"),
        ("MAX_CHUNKS_PER_UPLOAD", "0"),
        ("MAX_CHUNKS_PER_SESSION", "-1"),
        ("SESSION_QUOTA_MB", "0"),
        ("MAX_PDF_PAGES", "0"),
        ("PARSE_CPU_S", "0"),
        ("PARSE_TIMEOUT_S", "0"),
        ("PARSE_MEMORY_MB", "64"),
        ("INDEX_CACHE_MB", "-1"),
        ("SESSION_IDLE_TTL_HOURS", "-1"),
    ],
)
def test_a_limit_out_of_range_is_refused_at_start_up(make_settings, variable, value):
    with pytest.raises(ValidationError, match=variable):
        make_settings(**{variable: value})


def test_the_limits_are_read_from_the_environment(make_settings):
    s = make_settings(
        MAX_UPLOAD_TEXT_CHARS="5000",
        MAX_CHUNKS_PER_UPLOAD="10",
        MAX_CHUNKS_PER_SESSION="20",
        SESSION_QUOTA_MB="1.5",
        MAX_PDF_PAGES="7",
        PARSE_CPU_S="2",
        PARSE_TIMEOUT_S="3.5",
        PARSE_MEMORY_MB="256",
        INDEX_CACHE_MB="0",
        SESSION_IDLE_TTL_HOURS="0.5",
    )
    assert (s.max_upload_text_chars, s.max_chunks_per_upload, s.max_chunks_per_session) == (
        5000,
        10,
        20,
    )
    assert (s.session_quota_mb, s.max_pdf_pages, s.parse_cpu_s, s.parse_timeout_s) == (
        1.5,
        7,
        2,
        3.5,
    )
    assert (s.parse_memory_mb, s.index_cache_mb, s.session_idle_ttl_hours) == (256, 0, 0.5)
