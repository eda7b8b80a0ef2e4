"""The notes library, served read-only: anchored headings, safe names, citations that link."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from service.api.headers import CSP
from service.app import create_app
from service.config import REPO_DIR
from service.library import library_chunks
from service.notes import render, slug
from service.rag.answers import Citation, citation_for
from service.storage.base import Message
from tests.service.builders import GUIDE_MD, NOTES
from tests.service.conftest import upload
from tests.service.test_chat import ask

REPO_NOTES = REPO_DIR / "notes"


class Anchors(HTMLParser):
    """Collect the id of every element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Keep the tag's id, if any."""
        self.ids += [value or "" for name, value in attrs if name == "id"]


def anchors(html: str) -> list[str]:
    """Return the ids on an HTML page, in order."""
    parser = Anchors()
    parser.feed(html)
    return parser.ids


@pytest.fixture
def pages(make_settings):
    """Return a factory of clients of an app on a given notes library (nothing indexed)."""
    made: list[TestClient] = []

    def make(library_dir: Path) -> TestClient:
        app = create_app(make_settings(LIBRARY_DIR=library_dir), load_on_start=False)
        made.append(TestClient(app))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Target group with target type ip", "target-group-with-target-type-ip"),
        ('Replication and the word "basic"', "replication-and-the-word-basic"),
        ("`awsvpc` mode: one ENI per task", "awsvpc-mode-one-eni-per-task"),
        ("workflow_run fires on failure too", "workflow_run-fires-on-failure-too"),
        ("Rolling update 100 % and 200 %", "rolling-update-100--and-200-"),  # as GitHub
        ("See [the ALB](alb.md) note", "see-the-alb-note"),
        ("  Trimmed  ", "trimmed"),
        ("?!", "section"),
    ],
)
def test_anchors_are_github_style(heading, anchor):
    assert slug(heading) == anchor


def test_repeated_headings_get_numbered_anchors():
    page = render("# Setup\n\n## Setup\n\n### Setup\n\n## Setup 1\n")
    assert page.anchors == ("setup", "setup-1", "setup-2", "setup-1-1")
    assert anchors(page.html) == list(page.anchors)
    assert page.title == "Setup"


def test_a_note_is_served_with_every_heading_anchored_and_secured(pages, notes_dir):
    r = pages(notes_dir).get("/notes/roles.md")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert anchors(r.text) == ["iam-roles-for-ecs", "execution-role", "task-role"]
    assert "<title>IAM roles for ECS · ECS workbook notes</title>" in r.text
    assert "The task execution role is used by the ECS agent" in r.text
    assert "<script" not in r.text  # the page runs nothing: the strict CSP holds


@pytest.mark.parametrize("path", ["/notes", "/notes/"])
def test_the_notes_list_links_every_note(pages, notes_dir, path):
    r = pages(notes_dir).get(path)
    assert r.status_code == 200
    links = re.findall(r'href="(/notes/[^"]+)"', r.text)
    assert links == [f"/notes/{name}" for name in sorted(NOTES)]


def test_table_alignment_needs_no_inline_style():
    html = render("| name | size |\n|:--|--:|\n| a | 1 |\n").html
    assert 'style="' not in html  # the page's CSP would refuse it
    assert '<th class="align-left">name</th>' in html
    assert '<td class="align-right">1</td>' in html


def test_raw_html_and_script_links_in_a_note_are_shown_as_text(pages, tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    (library / "evil.md").write_text(
        "# Evil <b>note</b>\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3))\n"
    )
    r = pages(library).get("/notes/evil.md")
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script" not in r.text and "<img" not in r.text and "<b>" not in r.text
    assert 'href="javascript:' not in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/notes/nope.md",
        "/notes/roles",  # the name without its suffix
        "/notes/ROLES.md",  # another name, even on a case-insensitive disk
        "/notes/todo.txt",  # in the library directory, but not a Markdown note
        "/notes/..%2Fsecret.md",
        "/notes/%2E%2E/secret.md",
        "/notes/sub/..%2F..%2Fsecret.md",
        "/notes/%2Ftmp%2Fsecret.md",
        "/notes//etc/passwd",
        "/notes/%3Cscript%3Ealert(1)%3C%2Fscript%3E.md",  # the name is shown, escaped
    ],
)
def test_any_other_name_is_a_404_that_says_so_and_lists_the_notes(pages, tmp_path, path):
    library = tmp_path / "lib"
    library.mkdir()
    (library / "roles.md").write_text(NOTES["roles.md"])
    (library / "todo.txt").write_text("private to-do list")
    (tmp_path / "secret.md").write_text("# Secret\n\nthe password is hunter2\n")
    r = pages(library).get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert "There is no note named" in r.text
    assert 'href="/notes/roles.md"' in r.text  # where to go instead
    assert "hunter2" not in r.text and "to-do" not in r.text
    assert "<script" not in r.text


def test_a_missing_library_directory_lists_no_notes(pages, tmp_path):
    client = pages(tmp_path / "absent")
    assert "The notes library is empty" in client.get("/notes").text
    assert client.get("/notes/roles.md").status_code == 404


def test_every_indexed_section_of_the_notes_links_to_an_anchor_on_its_page(pages):
    cited = {(c.metadata["source"], c.metadata["section"]): c for c in library_chunks(REPO_NOTES)}
    assert len(cited) > 100
    client = pages(REPO_NOTES)
    seen: dict[str, list[str]] = {}
    for (source, section), chunk in sorted(cited.items(), key=lambda item: str(item[0])):
        url = urlsplit(citation_for(chunk, chunk.page_content).url)
        name = unquote(url.path.removeprefix("/notes/"))
        if name not in seen:
            r = client.get(url.path)
            assert r.status_code == 200, url.path
            assert not re.search(r"<script|\sstyle=", r.text), url.path  # as the CSP wants
            seen[name] = anchors(r.text)
        assert name == source
        assert unquote(url.fragment) in seen[name], (source, section)


def test_library_citations_carry_their_section_and_a_link_to_it(client):
    body = ask(client, "library", "What is the task execution role used for?").json()
    top = body["citations"][0]
    assert (top["source"], top["section"]) == ("roles.md", "Execution role")
    assert top["url"] == "/notes/roles.md#execution-role"
    page = client.get(urlsplit(top["url"]).path)
    assert "execution-role" in anchors(page.text)


def test_an_upload_named_like_a_note_is_cited_without_a_link(client):
    # An uploaded "roles.md" is not the library's: its citation must not open the note.
    sid = upload(client, ("roles.md", GUIDE_MD.encode())).json()["session_id"]
    body = ask(client, sid, "What does the circuit breaker do?").json()
    assert body["citations"][0] == {
        "source": "roles.md",
        "page": None,
        "snippet": body["citations"][0]["snippet"],
        "section": "Circuit breaker",
        "url": None,
    }


def test_history_keeps_the_section_and_the_link(client):
    sid = client.post("/sessions", json={"library": True}).json()["session_id"]
    asked = ask(client, sid, "What is the task execution role used for?").json()
    history = client.get(f"/sessions/{sid}/history").json()["messages"]
    assert history[1]["citations"] == asked["citations"]
    assert history[1]["citations"][0]["url"] == "/notes/roles.md#execution-role"


def test_history_stored_before_sections_still_loads(client):
    sid = client.post("/sessions", json={"library": True}).json()["session_id"]
    old = [
        {"role": "user", "text": "What is ECR?", "ts": 1.0, "citations": []},
        {
            "role": "assistant",
            "text": "ECR stores images [1].",
            "ts": 2.0,
            "citations": [{"source": "ecr.md", "page": None, "snippet": "ECR stores images."}],
        },
    ]
    path = client.app.state.runtime.sessions.history.root / f"{sid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(old))
    r = client.get(f"/sessions/{sid}/history")
    assert r.status_code == 200
    assert r.json()["messages"][1]["citations"] == [
        {
            "source": "ecr.md",
            "page": None,
            "snippet": "ECR stores images.",
            "section": None,
            "url": None,
        }
    ]


def test_a_citation_round_trips_through_its_stored_form():
    cited = Citation("alb.md", None, "Draining.", "Deregistration delay", "/notes/alb.md#x")
    message = Message("assistant", "text", citations=[cited])
    assert Message.from_dict(json.loads(json.dumps(message.to_dict()))) == message
    assert Citation("a.pdf", 2, "s") == Citation.from_dict(
        {"source": "a.pdf", "page": 2, "snippet": "s"}
    )
