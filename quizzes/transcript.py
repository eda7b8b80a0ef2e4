"""Write a mock interview's report as a markdown transcript: scores, answers, what to revisit."""

from datetime import UTC, datetime
from pathlib import Path

from quizzes import explain
from quizzes.llmgrade import fallback_note, graded_by
from quizzes.progress import CardState
from quizzes.question import Answered
from quizzes.revisit import chapter_notebook, note_section
from quizzes.schema import FreeTextItem
from quizzes.session import Session
from quizzes.timebox import clock_text

GOOD = 0.7  # an answer scoring below this (after overtime) puts its chapter and note on the list
NEXT_DUE = 8  # how many upcoming reviews the report lists


def _quote(text: str) -> str:
    lines = text.strip().splitlines() or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _heading(n: int, a: Answered) -> str:
    q = a.question
    kind = ""
    if q is not None and q.parent:
        kind = f"follow-up to {q.parent}" + (" (probe)" if q.probe else "") + ": "
    return (
        f"### {n}. {kind}{a.item.id} ({a.item.topic}, chapter {a.item.chapter})"
        f" — {a.grade.shown_verdict.upper()} {a.score:.2f}"
    )


def answer_section(n: int, a: Answered, now: datetime) -> list[str]:
    """Return the markdown of one answer beside the model answer, points marked."""
    out = [_heading(n, a), "", f"**Question.** {a.item.question}", ""]
    if timing := explain.time_text(a):
        out += [f"*Time: {timing}.*", ""]
    out += [f"*Graded by {graded_by(a.grade)}.*", ""]
    if note := fallback_note(a.grade):
        out += [f"*{note}*", ""]
    if (m := a.grade.machine) is not None:
        said = f"{m.verdict} {m.score:.2f}"
        out += [f"*Self-rated {a.grade.self_rating}: the grader was unsure ({said}).*", ""]
    out += ["**Your answer**", "", _quote(a.answer_text or "(no answer)"), ""]
    if isinstance(a.item, FreeTextItem):
        out += ["**Model answer**", "", _quote(a.item.model_answer), "", "**Key points**", ""]
        out += [f"- [{'x' if ok else ' '}] {text}" for ok, text in explain.points(a)]
        if a.grade.wrong_claims:
            out += [f"- wrong claim: {c}" for c in a.grade.wrong_claims]
        out.append("")
    else:
        out += ["**Feedback**", "", _quote(explain.feedback(a)), ""]
    if due := explain.due_text(a.due, now):
        out += [f"*{due[0].upper()}{due[1:]}.*", ""]
    return out


def grader_label(session: Session) -> str:
    """Name the grader of a session's spoken answers: offline, or the LLM grader's label."""
    if session.grader is None:
        return "offline"
    return getattr(session.grader, "label", None) or "llm"


def revisit(session: Session) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return ({chapter notebook: item ids}, {note section link: item ids}) for weak answers."""
    chapters: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    for a in session.answered:
        if a.score >= GOOD:
            continue
        chapters.setdefault(chapter_notebook(a.item.chapter), [])
        if a.item.id not in chapters[chapter_notebook(a.item.chapter)]:
            chapters[chapter_notebook(a.item.chapter)].append(a.item.id)
        section = note_section(a.item)
        if section is not None:
            ids = notes.setdefault(section.link, [])
            if a.item.id not in ids:
                ids.append(a.item.id)
    return chapters, notes


def markdown(
    session: Session,
    *,
    upcoming: list[CardState] | None = None,
    title: str = "Mock interview",
    now: datetime | None = None,
) -> str:
    """Return the whole report: topic scores, each answer, what to revisit, next due reviews."""
    now = now or datetime.now(UTC)
    n_free = sum(isinstance(a.item, FreeTextItem) for a in session.answered)
    over = sum(a.overtime > 0 for a in session.answered)
    planned = f"{session.minutes:g} min planned, " if session.minutes else ""
    out = [
        f"# {title} — {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Level: {session.level or 'all'}; {planned}{clock_text(session.elapsed())} used; "
        f"{len(session.answered)} answers ({n_free} spoken); "
        f"overall score {session.overall():.2f}; {over} over time.",
        "",
        f"Spoken answers graded by: {grader_label(session)}.",
        "",
        "## Scores by topic",
        "",
        "| topic | answered | score | over time |",
        "|---|---|---|---|",
    ]
    for topic, row in sorted(session.report().items(), key=lambda kv: kv[1]["score"]):
        out.append(f"| {topic} | {row['answered']} | {row['score']:.2f} | {row['overtime']} |")
    if over:
        out += ["", "Answers over their time box lose 10 % to 50 % of their score."]
    out += ["", "## Answers", ""]
    for n, a in enumerate(session.answered, 1):
        out += answer_section(n, a, now)
    chapters, notes = revisit(session)
    out += ["## Revisit", ""]
    if not chapters:
        out += ["Nothing below 0.70: well done.", ""]
    out += [f"- chapter `{path}`: {', '.join(ids)}" for path, ids in chapters.items()]
    out += [f"- note `{link}`: {', '.join(ids)}" for link, ids in notes.items()]
    out += ["", "## Next due reviews", ""]
    rows = sorted(upcoming or [], key=lambda s: s.due)[:NEXT_DUE]
    out += [f"- {s.item_id}: {explain.due_text(s.due, now)}" for s in rows] or ["- none yet"]
    return "\n".join(out).rstrip() + "\n"


def save(text: str, directory: Path, now: datetime | None = None) -> Path:
    """Write the transcript to directory/mock-<UTC timestamp>.md and return the path."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"mock-{now:%Y%m%dT%H%M%SZ}.md"
    n = 1
    while path.exists():  # two mocks in one second keep both transcripts
        n += 1
        path = directory / f"mock-{now:%Y%m%dT%H%M%SZ}-{n}.md"
    path.write_text(text, encoding="utf-8")
    return path
