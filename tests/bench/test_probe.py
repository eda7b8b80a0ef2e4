"""The probe's machinery: it flags planted problems, passes safe answers, and reports its area."""

from __future__ import annotations

import io
import json
import re
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.probe import access, crafted, names, pdfs, smuggling, xss
from bench.probe.campaign import Outcome, replay
from bench.probe.target import ROOT, Limits, Service, Target
from bench.probe.verdict import Reply, Verdict, judge, tally
from bench.probe.wire import Part, multipart
from service.server import serve_in_thread
from tests.bench.quick import run_quick

# It starts its own service processes and needs neither podman nor the guide environment.
pytestmark = pytest.mark.independent

TRAVERSAL = "../../probe-{m}.txt"


def _filename(body: bytes) -> str:
    found = re.search(rb'filename="([^"]*)"', body)
    return found.group(1).decode("utf-8", "replace") if found else ""


def fake_service(stored, *, html: bool = False, escape_to: Path | None = None) -> Starlette:
    """Return an app that accepts every request; /upload answers with stored(raw file name).

    html: answer /upload as text/html with the raw name in it (a reflected XSS);
    escape_to: write a file there on every upload (outside DATA_DIR).
    """

    async def upload(request: Request) -> Response:
        raw = _filename(await request.body())
        if escape_to is not None:
            escape_to.write_text("escaped")
        doc = {"session_id": "s1", "documents": [{"name": stored(raw)}], "chunks_indexed": 1}
        if html:
            return Response(f"<p>stored {raw}</p>", media_type="text/html")
        return JSONResponse(doc)

    async def anything(request: Request) -> Response:
        return JSONResponse({"session_id": "s1", "answer": "ok", "messages": []})

    methods = ["GET", "POST", "DELETE"]
    return Starlette(routes=[Route("/upload", upload, methods=["POST"]),
                             Route("/{path:path}", anything, methods=methods)])  # fmt: skip


@pytest.fixture
def target_of(tmp_path: Path):
    """Return a factory: serve an app in a thread and return a Target on it."""
    servers = []

    def make(app, api_key: str | None = None) -> Target:
        server = serve_in_thread(app)
        servers.append(server)
        box = tmp_path / "box"
        (box / "data").mkdir(parents=True, exist_ok=True)
        return Target(server.url, box / "data", box, api_key=api_key)

    yield make
    for server in servers:
        server.stop()


def test_a_traversal_name_stored_as_sent_is_flagged_high(target_of):
    t = target_of(fake_service(lambda raw: raw))
    verdict = names.check_name(t, "parent traversal", TRAVERSAL)
    assert verdict.severity == "high"
    assert "keeps a path separator" in verdict.reason
    assert t.marker in verdict.reason  # the reason shows the name as stored


def test_a_name_echoed_raw_in_html_is_flagged_high(target_of):
    t = target_of(fake_service(lambda raw: "probe.txt", html=True))
    for verdict in (
        names.check_name(t, "parent traversal", TRAVERSAL),
        xss.via_name(t, "<script>alert('x')</script>", "script tag"),
    ):
        assert verdict.severity == "high"
        assert verdict.reason == "payload reflected unescaped in text/html"


def test_a_name_made_safe_is_handled_and_shown(target_of):
    t = target_of(fake_service(lambda raw: "probe-safe.txt"))
    verdict = names.check_name(t, "parent traversal", TRAVERSAL)
    assert verdict.handled, verdict
    assert verdict.reason == "200: stored as 'probe-safe.txt'"


def test_a_file_written_outside_data_dir_is_flagged_high(target_of, tmp_path):
    t = target_of(fake_service(lambda raw: "p.txt", escape_to=tmp_path / "box" / "escaped.txt"))
    verdict = names.check_name(t, "parent traversal", TRAVERSAL)
    assert verdict.severity == "high"
    assert verdict.reason == "wrote outside DATA_DIR: escaped.txt"


def test_two_files_stored_under_one_name_is_flagged(target_of):
    t = target_of(fake_service(lambda raw: "same.txt"))
    body = multipart([Part("files", b"one", "a.txt"), Part("files", b"two", "a.txt")])
    verdict = names.check_upload(t, "two files", body, files=2)
    assert verdict.severity == "high"
    assert "2 file(s) sent, stored as ['same.txt']" in verdict.reason


def test_a_route_open_without_the_key_is_flagged_by_route(target_of):
    t = target_of(fake_service(lambda raw: "k.txt"), api_key="probe-Key-123abc")
    verdicts = {v.name: v for v in access.key_checks(t)}
    assert verdicts["upload, no key"].severity == "high"
    assert verdicts["chat, wrong key"].severity == "high"
    assert verdicts["history, no key"].severity == "low"  # the rank: needs a session id
    assert verdicts["chat, key in the query string"].severity == "low"
    assert verdicts["chat, lowercase 'bearer'"].handled  # the real key, in a form RFC 9110 allows


class _Desync(socketserver.BaseRequestHandler):
    """Answer /health; answer anything else twice, echoing what was sent (a smuggled request)."""

    def handle(self) -> None:
        self.request.settimeout(0.3)
        data = b""
        try:
            while chunk := self.request.recv(65536):
                data += chunk
        except TimeoutError:
            pass
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        if data.startswith(b"GET /health"):
            self.request.sendall(ok)
            return
        echo = data[-300:]
        self.request.sendall(ok + b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(echo), echo))  # fmt: skip


@pytest.fixture
def desync_target(tmp_path: Path) -> Iterator[Target]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Desync)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "data").mkdir()
    yield Target(f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "data", tmp_path)
    server.shutdown()
    server.server_close()


def test_a_smuggled_request_that_runs_is_flagged(desync_target):
    t = desync_target
    hidden = f"GET /sessions/smuggle{t.marker}/history HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    label, data, must_refuse = smuggling._cases("x", hidden)[0]
    verdict = smuggling.check_raw(t, label, data, must_refuse)
    assert verdict.severity == "medium"
    assert verdict.reason == "the hidden request was executed (answers [200, 404])"


@pytest.mark.parametrize(
    ("reply", "kw", "severity", "reason"),
    [
        (Reply(500, body=b'{"detail": "boom"}'), {}, "medium", "server error 500: boom"),
        (Reply(None, error="ReadTimeout"), {}, "medium", "no answer: ReadTimeout"),
        (Reply(422, body=b'{"detail": "bad"}'), {"wrote": ["sessions/x/manifest.json"]},
         "medium", "refused (422) but wrote sessions/x/manifest.json"),
        (Reply(401, body=b'{"detail": "key k3y-secret-value is wrong"}'),
         {"secret": "k3y-secret-value"}, "high", "the answer contains the API key"),
        (Reply(200, body=b"ok"), {}, "medium", "accepted (200: ok); a refusal was expected"),
        (Reply(400, body=b""), {}, "low", "refused with 400 but no message saying why"),
        (Reply(503, body=b""), {"allowed": (503,)}, "low",
         "answered 503 with no message saying why"),
        (Reply(422, body=b'{"detail": "bad"}'), {}, None, "422: bad"),
        (Reply(503, body=b'{"detail": "DATA_DIR is read-only"}'), {"allowed": (503,)}, None,
         "503: DATA_DIR is read-only"),
    ],
)  # fmt: skip
def test_judge_applies_the_shared_rules(reply, kw, severity, reason):
    verdict = judge("c", "n", reply, **kw)
    assert (verdict.severity, verdict.reason) == (severity, reason)


def test_a_payload_is_an_xss_only_where_a_browser_renders_it():
    payload = "<script>alert(1)</script>"
    as_html = Reply(200, {"content-type": "text/html; charset=utf-8"}, payload.encode())
    as_json = Reply(200, {"content-type": "application/json"}, json.dumps(payload).encode())
    assert judge("c", "n", as_html, expect="either", payload=payload).severity == "high"
    assert judge("c", "n", as_json, expect="either", payload=payload).handled


def test_tally_counts_each_category_and_the_total_last():
    verdicts = [
        Verdict("a", "1", None, ""),
        Verdict("a", "2", "high", ""),
        Verdict("b", "3", "low", ""),
    ]
    rows = tally(verdicts)
    assert list(rows) == ["a", "b", "total"]
    assert rows["a"] == {"tried": 2, "handled": 1, "high": 1, "medium": 0, "low": 0}
    assert rows["total"] == {"tried": 3, "handled": 1, "high": 1, "medium": 0, "low": 1}


def test_a_verdict_refuses_an_unknown_severity():
    with pytest.raises(ValueError, match="severity must be one of"):
        Verdict("a", "b", "critical", "")


def test_multipart_keeps_hostile_names_byte_for_byte():
    body = multipart([Part("files", b"x", "../a\x00\u202e.txt")], boundary="B")
    assert b'filename="../a\x00\xe2\x80\xae.txt"' in body
    assert body.endswith(b"--B--\r\n")


def test_limits_are_read_from_the_page_and_default_otherwise():
    page = '<body data-max-upload-mb="2.5" data-max-files="3" data-max-message-chars="99">'
    assert Limits.from_page(page) == Limits(2.5, 3, 99)
    assert Limits.from_page("<body>") == Limits()


def test_crafted_pdfs_have_the_shape_they_claim():
    shared = pdfs.shared_stream()
    size, inflated = pdfs.bomb_sizes(shared)
    assert size < 20_000 and inflated >= 4_900_000
    pages = PdfReader(io.BytesIO(shared)).pages
    assert len(pages) == 3
    contents = {p.get_object().raw_get("/Contents").idnum for p in pages}
    assert len(contents) == 1  # one content stream drawn by all 3 pages
    size, inflated = pdfs.bomb_sizes(pdfs.expanding_page())
    assert size < 20_000 and inflated >= 13_000_000
    many = PdfReader(io.BytesIO(pdfs.many_pages()))
    tree = many.trailer["/Root"]["/Pages"]
    assert tree["/Count"] == 55_000 and len(tree["/Kids"]) == 55_000
    nested = PdfReader(io.BytesIO(pdfs.nested_pages(depth=50)))
    assert len(nested.pages) == 1  # well-formed: only its depth is hostile


@pytest.mark.slow
def test_on_the_real_service_a_safe_name_is_handled_and_a_crash_is_high(tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    service = Service(ROOT, box / "data", tmp_path / "service.log", {}).start()
    try:
        t = Target(service.base, box / "data", box, service=service)
        verdict = names.check_name(t, "parent traversal", TRAVERSAL)
        assert verdict.handled, verdict
        assert f"stored as 'probe-{t.marker}.txt'" in verdict.reason
        cyclic, cost = crafted.check_pdf(t, "cyclic", pdfs.cyclic_tree())
        assert cyclic.handled and cost.status == 422 and cost.wrote == 0
        assert cost.cpu_s is not None and service.cpu_seconds() > 0
        assert service.rss_mb() > 20

        def crash():  # the service dies mid-category; the next raw request is refused
            service.kill()
            yield from smuggling.checks(t)

        out = Outcome(quick=True, repo=str(ROOT))
        replay(out, t, "crash", crash)
        assert [(v.name, v.severity) for v in out.verdicts] == [
            ("the service survives the category", "high")
        ]
        assert service.alive()  # restarted for the categories that follow
        assert names.check_name(t, "after the restart", "plain.txt").handled
    finally:
        service.stop()


@pytest.mark.slow
def test_quick_run_adds_the_probe_area_with_totals_and_the_three_figures(tmp_path):
    text, data = run_quick("probe", tmp_path)
    assert "## probe" in text
    figures = {f["name"]: f for f in data["figures"] if f["area"] == "probe"}
    tried = figures["abusive inputs tried"]["value"]
    found = sum(figures[f"problems, {s} severity"]["value"] for s in ("high", "medium", "low"))
    assert tried >= 150
    assert figures["handled safely"]["value"] + found == tried
    assert figures["problems, high severity"]["goal"] == 0
    assert figures["problems, medium severity"]["goal"] == 0
    # The service as hardened (issue 16) handles every high- and medium-severity input.
    assert figures["problems, high severity"]["value"] == 0, text
    assert figures["problems, medium severity"]["value"] == 0, text
    assert figures["RSS after 20 maximal uploads"]["goal"] == 1000
    pdf = [f for name, f in figures.items() if name.startswith("CPU for a crafted PDF")]
    assert len(pdf) == 4 and all(f["goal"] == 5 and f["value"] is not None for f in pdf)
    assert figures["88 MB JSON without the key: time to refusal"]["goal"] == 50
    assert figures["/health latency meanwhile (worst)"]["goal"] == 100
    assert "| problems, high severity | ≤ 0 problems |" in text
