"""Progress survives restarts and crashes; a corrupt file is reported and backed up."""

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Rating

from quizzes import scheduler
from quizzes.errors import CorruptProgressError, ProgressError
from quizzes.progress import ProgressStore
from quizzes.verdict import Grade

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def g(verdict, score, item="iam-001"):
    return Grade(item_id=item, verdict=verdict, score=score)


def test_grades_map_to_ratings():
    assert scheduler.rating_for(g("wrong", 0.1)) == Rating.Again
    assert scheduler.rating_for(g("partial", 0.5)) == Rating.Hard
    assert scheduler.rating_for(g("good", 0.8)) == Rating.Good
    assert scheduler.rating_for(g("good", 1.0)) == Rating.Easy


# One grade per rating, weakest first: Again, Hard, Good, Easy.
GRADES_BY_RATING = [("wrong", 0.0), ("partial", 0.5), ("good", 0.8), ("good", 1.0)]


@pytest.mark.parametrize("seen", [False, True], ids=["new card", "card in review"])
def test_better_grades_push_the_card_further_out(seen):
    card = scheduler.review(None, g("good", 1.0), NOW) if seen else None
    at = card.due if seen else NOW
    dues = [scheduler.review(card, g(v, s), at).due for v, s in GRADES_BY_RATING]
    assert at < dues[0] < dues[1] < dues[2] < dues[3]


def test_record_persists_across_reopen(tmp_path):
    path = tmp_path / "p.sqlite"
    with ProgressStore(path) as s:
        s.record("iam-001", "iam", g("good", 1.0), answer="1", now=NOW)
        s.record("iam-001", "iam", g("wrong", 0.0), answer="2", now=NOW + timedelta(days=1))
    with ProgressStore(path) as s:
        state = s.card("iam-001")
        assert state.n_reviews == 2 and state.last_score == 0.0
        assert [r["verdict"] for r in s.reviews("iam-001")] == ["good", "wrong"]
        assert s.card("nope") is None
        mode = s._conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


CRASH = """
import os, sys
from datetime import datetime, UTC
from quizzes.progress import ProgressStore
from quizzes.verdict import Grade
s = ProgressStore(sys.argv[1])
s.record("iam-001", "iam", Grade(item_id="iam-001", verdict="good", score=1.0))
s._conn.execute("BEGIN")
s._conn.execute("INSERT INTO reviews (item_id, topic, ts, score, verdict, rating, grader)"
                " VALUES ('iam-002', 'iam', 'x', 0, 'wrong', 1, 'offline')")
os._exit(9)  # die mid-transaction, no commit, no close
"""


def test_crash_mid_write_keeps_what_was_committed(tmp_path):
    path = tmp_path / "p.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, str(path)],
        capture_output=True,
        text=True,
        cwd=str(tmp_path.parent),
        env=None,
    )
    assert proc.returncode == 9, proc.stderr
    with ProgressStore(path) as s:
        assert [r["item_id"] for r in s.reviews()] == ["iam-001"]
        assert s.card("iam-001").n_reviews == 1


def test_failed_transaction_rolls_back_both_rows(tmp_path, monkeypatch):
    with ProgressStore(tmp_path / "p.sqlite") as s:
        s.record("iam-001", "iam", g("good", 1.0), now=NOW)
        real_json = scheduler.Card.to_json
        monkeypatch.setattr(scheduler.Card, "to_json", lambda self: None)  # NOT NULL fails
        with pytest.raises(sqlite3.IntegrityError):
            s.record("iam-001", "iam", g("wrong", 0.0), now=NOW)
        monkeypatch.setattr(scheduler.Card, "to_json", real_json)
        assert len(s.reviews()) == 1 and s.card("iam-001").n_reviews == 1


@pytest.mark.parametrize(
    "garbage", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_corrupt_file_is_reported_and_backed_up(tmp_path, garbage):
    path = tmp_path / "p.sqlite"
    path.write_bytes(garbage)
    with pytest.raises(CorruptProgressError, match="corrupt") as err:
        ProgressStore(path)
    backups = list(tmp_path.glob("p.sqlite.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == garbage
    assert str(backups[0]) in str(err.value)
    assert not path.exists()  # not silently reset: the user was told, the next run starts fresh
    with ProgressStore(path) as s:
        assert s.reviews() == []


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProgressError, match="cannot create"):
        ProgressStore(blocker / "sub" / "p.sqlite")


def test_a_directory_is_not_mistaken_for_a_corrupt_file(tmp_path):
    (tmp_path / "p.sqlite").mkdir()
    with pytest.raises(ProgressError, match="is a directory") as err:
        ProgressStore(tmp_path / "p.sqlite")
    assert not isinstance(err.value, CorruptProgressError)
    assert (tmp_path / "p.sqlite").is_dir() and not list(tmp_path.glob("*.corrupt-*"))


def test_two_stores_on_one_file_count_every_review(tmp_path):
    path = tmp_path / "p.sqlite"
    with ProgressStore(path) as cli, ProgressStore(path) as notebook:
        cli.record("iam-001", "iam", g("good", 1.0), now=NOW)
        notebook.record("iam-001", "iam", g("wrong", 0.0), now=NOW)
        cli.record("iam-001", "iam", g("good", 0.8), now=NOW)
        assert notebook.card("iam-001").n_reviews == 3 and len(cli.reviews()) == 3


# --- unsure grades: the grader's and the learner's grade are both stored ---

OLD_SCHEMA = """
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL, topic TEXT NOT NULL, ts TEXT NOT NULL,
    score REAL NOT NULL, verdict TEXT NOT NULL, rating INTEGER NOT NULL,
    grader TEXT NOT NULL, answer TEXT
);
CREATE TABLE cards (
    item_id TEXT PRIMARY KEY, topic TEXT NOT NULL, card TEXT NOT NULL,
    due TEXT NOT NULL, last_score REAL NOT NULL, n_reviews INTEGER NOT NULL
);
INSERT INTO reviews (item_id, topic, ts, score, verdict, rating, grader, answer)
VALUES ('iam-001', 'iam', '2026-11-01T09:00:00+00:00', 0.8, 'good', 3, 'offline', 'x');
"""


def unsure_grade() -> Grade:
    return Grade(item_id="iam-001", verdict="partial", score=0.55, confidence=0.2, unsure=True)


def test_a_self_rated_grade_stores_both_grades(store):
    rated = unsure_grade().rated("good")
    assert rated.verdict == "good" and rated.grader == "self" and rated.score == 0.7
    store.record("iam-001", "iam", rated, now=NOW)
    (row,) = store.reviews("iam-001")
    assert row["verdict"] == "good" and row["grader"] == "self" and row["self_rating"] == "good"
    assert row["grader_verdict"] == "partial" and row["grader_score"] == 0.55
    assert row["grader_name"] == "offline" and row["confidence"] == 0.2 and row["unsure"] is True
    assert row["rating"] == int(scheduler.Rating.Good)  # the learner's rating schedules it


def test_a_confident_grade_stores_its_confidence_alone(store):
    store.record("iam-001", "iam", Grade(item_id="iam-001", verdict="good", score=0.9,
                                         confidence=0.95), now=NOW)  # fmt: skip
    (row,) = store.reviews()
    assert row["confidence"] == 0.95 and row["unsure"] is False and row["self_rating"] is None
    assert row["grader_verdict"] is None and row["grader_name"] is None


def test_a_progress_file_from_before_unsure_grades_still_loads(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    with ProgressStore(path) as s:
        (old,) = s.reviews()
        assert old["verdict"] == "good" and old["confidence"] is None and old["unsure"] is None
        s.record("iam-001", "iam", unsure_grade().rated("again"), now=NOW)
        new = s.reviews()[-1]
        assert new["verdict"] == "wrong" and new["self_rating"] == "again"
        assert new["grader_verdict"] == "partial"
    with ProgressStore(path) as s, ProgressStore(path) as other:  # reopening adds nothing twice
        assert len(s.reviews()) == len(other.reviews()) == 2
