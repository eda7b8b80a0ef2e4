"""Judge one abusive input: handled safely, or a problem with a severity and a reason."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field

SEVERITIES = ("high", "medium", "low")
# A response type a browser renders as a page: a payload reflected raw in one is an XSS.
HTML_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml")


@dataclass
class Verdict:
    """What one input did: severity None means handled safely."""

    category: str
    name: str
    severity: str | None
    reason: str

    def __post_init__(self) -> None:
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES} or None, got {self.severity!r}")

    @property
    def handled(self) -> bool:
        """Say whether the input was handled safely."""
        return self.severity is None

    def to_dict(self) -> dict:
        """Return the verdict as plain data (for the JSON results)."""
        return {**asdict(self), "handled": self.handled}


@dataclass
class Reply:
    """One HTTP answer as the probe saw it (status None: no answer at all)."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    seconds: float = 0.0
    error: str = ""  # why there was no answer (timeout, reset)

    @property
    def content_type(self) -> str:
        """Return the media type without parameters, lower case."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        """Return the body as text (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> object:
        """Return the body parsed as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def detail(self) -> str:
        """Return the error message a client would show (JSON `detail`, else the text)."""
        data = self.json()
        if isinstance(data, dict) and data.get("detail"):
            return str(data["detail"])
        return self.text.strip()

    def short(self) -> str:
        """Return `status: message` trimmed for a reason line."""
        if self.status is None:
            return f"no answer ({self.error or 'closed'})"
        return f"{self.status}: {' '.join(self.detail.split())[:120]}"


def leaks(reply: Reply, secret: str | None) -> bool:
    """Say whether the secret appears in the answer's headers or body."""
    if not secret:
        return False
    blob = reply.body + "\n".join(f"{k}: {v}" for k, v in reply.headers.items()).encode()
    return secret.encode() in blob


def reflected_as_html(reply: Reply, payload: str | None) -> bool:
    """Say whether the payload comes back unescaped in a response a browser renders."""
    return bool(payload) and reply.content_type in HTML_TYPES and payload.encode() in reply.body


def judge(
    category: str,
    name: str,
    reply: Reply,
    *,
    expect: str = "refuse",
    allowed: Collection[int] = (),
    wrote: Collection[str] = (),
    outside: Collection[str] = (),
    payload: str | None = None,
    secret: str | None = None,
    accepted: str = "medium",
) -> Verdict:
    """Return the verdict on one answer by the rules every input shares.

    `expect` is "refuse" (a 4xx is right), "accept" (a 2xx is right) or "either". `allowed`
    adds statuses that are right despite the rule (503 from a read-only DATA_DIR). `wrote`
    lists DATA_DIR files the request created or changed, `outside` files written outside it.
    `accepted` is the severity of a 2xx where a refusal was expected.
    """
    bad = _first_problem(reply, expect, allowed, wrote, outside, payload, secret, accepted)
    if bad:
        return Verdict(category, name, *bad)
    return Verdict(category, name, None, reply.short())


def _first_problem(reply, expect, allowed, wrote, outside, payload, secret, accepted):
    if outside:
        return "high", f"wrote outside DATA_DIR: {', '.join(sorted(outside))[:200]}"
    if leaks(reply, secret):
        return "high", "the answer contains the API key"
    if reflected_as_html(reply, payload):
        return "high", f"payload reflected unescaped in {reply.content_type}"
    status = reply.status
    if status is None:
        return "medium", f"no answer: {reply.error or 'connection closed'}"
    if status in allowed:
        return None if reply.detail else ("low", f"answered {status} with no message saying why")
    if status >= 500:
        return "medium", f"server error {reply.short()}"
    refused = 400 <= status < 500
    if refused and wrote:
        return "medium", f"refused ({status}) but wrote {', '.join(sorted(wrote))[:200]}"
    if refused and not reply.detail:
        return "low", f"refused with {status} but no message saying why"
    if expect == "refuse" and not refused:
        return accepted, f"accepted ({reply.short()}); a refusal was expected"
    if expect == "accept" and refused:
        return "low", f"refused a valid request ({reply.short()})"
    return None


def tally(verdicts: list[Verdict]) -> dict[str, dict[str, int]]:
    """Return per-category counts: tried, handled and problems by severity (plus "total")."""
    rows: dict[str, dict[str, int]] = {}
    for v in verdicts:
        for key in (v.category, "total"):
            row = rows.setdefault(key, {"tried": 0, "handled": 0, **dict.fromkeys(SEVERITIES, 0)})
            row["tried"] += 1
            row["handled" if v.handled else v.severity] += 1
    if "total" in rows:
        rows["total"] = rows.pop("total")  # last
    return rows
