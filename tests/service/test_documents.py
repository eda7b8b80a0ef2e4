"""Uploads: good files are indexed; every kind of bad input is refused and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.builders import CORRUPT_PDF, GUIDE_MD, make_encrypted_pdf, make_pdf
from tests.service.conftest import started, upload


def stored_files(data_dir: Path) -> list[Path]:
    """Return every file under DATA_DIR that belongs to a session or its history."""
    return [
        p
        for sub in ("sessions", "history")
        for p in (data_dir / sub).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    ]


def test_upload_markdown_creates_a_session(client, settings):
    r = upload(client, ("guide.md", GUIDE_MD.encode()))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["chunks_indexed"] >= 1
    assert [d["name"] for d in body["documents"]] == ["guide.md"]
    sid = body["session_id"]
    assert (settings.data_dir / "sessions" / sid / "documents" / "guide.md").read_text() == GUIDE_MD


def test_upload_pdf_records_pages(client):
    pdf = make_pdf(["Fargate tasks need awsvpc networking.", "Each task gets its own ENI."])
    r = upload(client, ("net.pdf", pdf))
    assert r.status_code == 200, r.text
    assert r.json()["documents"][0]["pages"] == 2


def test_upload_adds_to_an_existing_session(client):
    sid = upload(client, ("a.md", b"# A\n\nAlpha text about ECR.")).json()["session_id"]
    r = upload(client, ("b.txt", b"Beta text about ECS."), session_id=sid)
    assert r.status_code == 200
    assert r.json()["session_id"] == sid
    docs = client.get(f"/sessions/{sid}/history").json()["documents"]
    assert [d["name"] for d in docs] == ["a.md", "b.txt"]


def test_same_name_twice_is_kept_apart(client):
    sid = upload(client, ("a.md", b"first version")).json()["session_id"]
    r = upload(client, ("a.md", b"second version"), session_id=sid)
    assert r.json()["documents"][0]["name"] == "a-2.md"


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("tool.exe", b"MZ binary", 415, ["tool.exe", "unsupported"]),
        ("empty.md", b"", 422, ["empty.md", "empty"]),
        ("blank.txt", b"  \n\n ", 422, ["blank.txt"]),
        ("broken.pdf", CORRUPT_PDF, 422, ["broken.pdf"]),
        ("locked.pdf", None, 422, ["locked.pdf", "password"]),
        ("fake.pdf", b"just text, not a pdf", 422, ["fake.pdf"]),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(
    client, settings, name, content, status, words
):
    content = make_encrypted_pdf() if content is None else content
    r = upload(client, ("good.md", b"# Good\n\nA fine note."), (name, content))
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail
    assert stored_files(settings.data_dir) == []
    assert client.get("/health").status_code == 200


def test_oversize_file_is_413(make_settings):
    c = started(make_settings(MAX_UPLOAD_MB=0.01))  # about 10 kB
    try:
        r = upload(c, ("big.md", b"x" * 20_000))
        assert r.status_code == 413
        assert "big.md" in r.json()["detail"]
        assert stored_files(c.app.state.settings.data_dir) == []
    finally:
        c.__exit__(None, None, None)


def test_oversize_request_is_refused_before_parsing(make_settings):
    c = started(make_settings(MAX_UPLOAD_MB=0.01, MAX_FILES=1))
    try:
        r = upload(c, ("big.md", b"x" * 3_000_000))
        assert r.status_code == 413
        assert "MAX_UPLOAD_MB" in r.json()["detail"]
    finally:
        c.__exit__(None, None, None)


def test_too_many_files(make_settings):
    c = started(make_settings(MAX_FILES=2))
    try:
        files = [(f"n{i}.md", b"note text") for i in range(3)]
        r = upload(c, *files)
        assert r.status_code == 413
        assert "MAX_FILES" in r.json()["detail"]
        assert stored_files(c.app.state.settings.data_dir) == []
    finally:
        c.__exit__(None, None, None)


def test_no_files_is_422(client):
    r = client.post("/upload", data={"session_id": "abc"})
    assert r.status_code == 422
    assert "files" in r.json()["detail"]


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("/etc/cron.d/evil.md", "evil.md"),
        ("..\\..\\windows\\x.md", "x.md"),
        ("....//....//up.md", "up.md"),
        ("..md", "file.md"),
    ],
)
def test_path_traversal_names_are_stored_by_their_last_part(client, settings, name, stored):
    content = b"# Note\n\nHarmless text."
    r = upload(client, (name, content))
    assert r.status_code == 200, r.text
    assert r.json()["documents"][0]["name"] == stored
    # The one file written is that name, directly in the session's documents folder.
    folder = settings.data_dir / "sessions" / r.json()["session_id"] / "documents"
    assert [p for p in stored_files(settings.data_dir) if p.parent.name == "documents"] == [
        folder / stored
    ]
    assert (folder / stored).read_bytes() == content
    assert not Path("/etc/cron.d/evil.md").exists()


def test_upload_to_unknown_session_is_404(client):
    r = upload(client, ("a.md", b"text"), session_id="doesnotexist")
    assert r.status_code == 404
    assert "doesnotexist" in r.json()["detail"]


def test_upload_to_the_library_is_refused(client):
    r = upload(client, ("a.md", b"text"), session_id="library")
    assert r.status_code == 403


def test_bad_session_id_form_value_is_422(client):
    r = upload(client, ("a.md", b"text"), session_id="../etc")
    assert r.status_code == 422


def test_old_index_snapshots_are_pruned(client, settings):
    sid = upload(client, ("a.md", b"# A\n\nAlpha about ECR.")).json()["session_id"]
    for name in ("b.md", "c.md", "d.md"):
        assert upload(client, (name, b"# N\n\nMore about ECS."), session_id=sid).status_code == 200
    versions = sorted(p.name for p in (settings.data_dir / "sessions" / sid / "index").iterdir())
    manifest = client.app.state.runtime.sessions.documents.read_manifest(sid)
    assert versions == sorted([manifest.version, manifest.previous])


def test_oversize_chunked_request_without_length_is_413(make_settings):
    c = started(make_settings(MAX_UPLOAD_MB=0.01, MAX_FILES=1))
    boundary = "xyz"

    def body():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n\r\n'
        ).encode()
        for _ in range(300):
            yield b"x" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        r = c.post(
            "/upload",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert r.status_code == 413
        assert stored_files(c.app.state.settings.data_dir) == []
        assert c.get("/health").status_code == 200
    finally:
        c.__exit__(None, None, None)
