"""Store progress in SQLite (WAL, one transaction per answer); refuse and back up corrupt files."""

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fsrs import Card

from quizzes import scheduler
from quizzes.errors import CorruptProgressError, ProgressError
from quizzes.verdict import Grade

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL, topic TEXT NOT NULL, ts TEXT NOT NULL,
    score REAL NOT NULL, verdict TEXT NOT NULL, rating INTEGER NOT NULL,
    grader TEXT NOT NULL, answer TEXT
);
CREATE TABLE IF NOT EXISTS cards (
    item_id TEXT PRIMARY KEY, topic TEXT NOT NULL, card TEXT NOT NULL,
    due TEXT NOT NULL, last_score REAL NOT NULL, n_reviews INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_item ON reviews(item_id);
"""
# Columns added after the first release (issue 14: unsure grades and self-ratings). Files
# written before them get them on open, NULL in the old rows.
_ADDED_COLUMNS = {
    "confidence": "REAL",  # how sure the grader was (0..1)
    "unsure": "INTEGER",  # 1 when the grader asked the learner to rate the answer
    "self_rating": "TEXT",  # the learner's again / hard / good, if they rated it
    "grader_verdict": "TEXT",  # what the grader said when the learner's rating decided
    "grader_score": "REAL",
    "grader_name": "TEXT",  # offline / llm, when `grader` is "self"
}
_HEADER = b"SQLite format 3\x00"
_CORRUPT_MARKERS = ("not a database", "malformed", "corrupt")


def _add_columns(conn: sqlite3.Connection) -> None:
    """Bring a progress file from an earlier release up to the current reviews table."""

    def missing() -> list[str]:
        have = {row[1] for row in conn.execute("PRAGMA table_info(reviews)")}
        return [name for name in _ADDED_COLUMNS if name not in have]

    if not missing():
        return
    # Under the write lock, re-checked: the CLI and a notebook may open the file at once.
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in missing():
            conn.execute(f"ALTER TABLE reviews ADD COLUMN {name} {_ADDED_COLUMNS[name]}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class _Corrupt(Exception):
    """Internal: the file is not a healthy SQLite database."""


@dataclass(frozen=True)
class CardState:
    """What the store knows about one item: its FSRS card, last score and review count."""

    item_id: str
    topic: str
    card: Card
    last_score: float
    n_reviews: int

    @property
    def due(self) -> datetime:
        """Return when the item is next due."""
        return self.card.due


def _backup(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.rename(target)
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        if side.exists():
            side.rename(target.with_name(target.name + extra))
    return target


class ProgressStore:
    """The learner's progress, shared by the CLI and the notebook widget."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProgressError(f"cannot create {self.path.parent}: {exc}") from exc
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = None
        try:
            if self.path.is_dir():
                raise ProgressError(f"progress database {self.path} is a directory")
            if self.path.exists() and self.path.stat().st_size > 0:
                with self.path.open("rb") as fh:
                    if fh.read(16) != _HEADER:
                        raise _Corrupt("file is not a database")
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in record()).
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise _Corrupt(check)
            conn.executescript(_SCHEMA)
            _add_columns(conn)
            return conn
        except (sqlite3.DatabaseError, _Corrupt) as exc:
            if conn is not None:
                conn.close()
            text = str(exc)
            if not isinstance(exc, _Corrupt) and not any(m in text for m in _CORRUPT_MARKERS):
                raise ProgressError(f"cannot open progress database {self.path}: {exc}") from exc
            backup = _backup(self.path)
            raise CorruptProgressError(
                f"progress database {self.path} is corrupt ({exc}); it was moved to {backup}. "
                "Run again to start a fresh progress file, or restore the backup."
            ) from exc

    @contextmanager
    def _transaction(self):
        # BEGIN IMMEDIATE takes the write lock up front, so read-then-write is atomic even
        # with the CLI and a notebook open on the same file.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> "ProgressStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record(
        self,
        item_id: str,
        topic: str,
        grade: Grade,
        *,
        answer: str = "",
        now: datetime | None = None,
    ) -> CardState:
        """Record one answer and reschedule its card, atomically."""
        now = now or datetime.now(UTC)
        rating = int(scheduler.rating_for(grade))
        with self._transaction():  # one transaction: both rows or neither
            previous = self.card(item_id)
            card = scheduler.review(previous.card if previous else None, grade, now)
            n = (previous.n_reviews if previous else 0) + 1
            machine = grade.machine
            self._conn.execute(
                "INSERT INTO reviews (item_id, topic, ts, score, verdict, rating, grader, answer,"
                " confidence, unsure, self_rating, grader_verdict, grader_score, grader_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item_id,
                    topic,
                    now.isoformat(),
                    grade.score,
                    grade.verdict,
                    rating,
                    grade.grader,
                    answer,
                    machine.confidence if machine else grade.confidence,
                    int(grade.unsure),
                    grade.self_rating,
                    machine.verdict if machine else None,
                    machine.score if machine else None,
                    machine.grader if machine else None,
                ),
            )
            self._conn.execute(
                "INSERT INTO cards (item_id, topic, card, due, last_score, n_reviews)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET"
                " card=excluded.card, due=excluded.due, last_score=excluded.last_score,"
                " n_reviews=excluded.n_reviews",
                (item_id, topic, card.to_json(), card.due.isoformat(), grade.score, n),
            )
        return CardState(item_id, topic, card, grade.score, n)

    def card(self, item_id: str) -> CardState | None:
        """Return the stored state of one item, or None if never answered."""
        row = self._conn.execute(
            "SELECT item_id, topic, card, last_score, n_reviews FROM cards WHERE item_id = ?",
            (item_id,),
        ).fetchone()
        return self._state(row) if row else None

    def cards(self) -> list[CardState]:
        """Return every item answered so far."""
        rows = self._conn.execute(
            "SELECT item_id, topic, card, last_score, n_reviews FROM cards ORDER BY due"
        )
        return [self._state(r) for r in rows]

    def reviews(self, item_id: str | None = None) -> list[dict]:
        """Return the review log, oldest first (optionally for one item)."""
        # confidence, unsure, self_rating and the grader's own verdict, score and name (when
        # the learner's rating decided) are None in rows written before issue 14.
        sql = (
            "SELECT item_id, topic, ts, score, verdict, rating, grader, confidence, unsure,"
            " self_rating, grader_verdict, grader_score, grader_name FROM reviews"
        )
        args: tuple = ()
        if item_id:
            sql, args = sql + " WHERE item_id = ?", (item_id,)
        cur = self._conn.execute(sql + " ORDER BY id", args)
        cols = [c[0] for c in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur]
        for row in rows:
            row["unsure"] = None if row["unsure"] is None else bool(row["unsure"])
        return rows

    @staticmethod
    def _state(row) -> CardState:
        item_id, topic, card_json, last_score, n = row
        return CardState(item_id, topic, Card.from_json(card_json), last_score, n)


def card_json(card: Card) -> dict:
    """Return a card as a plain dict (for display and export)."""
    return json.loads(card.to_json())
