"""Score one embedder on bench/retrieval_eval.yaml and on telling near-miss from off-topic
questions by similarity alone; print JSON (run with each env's python)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from bench._heldout_set import load_set
from bench.retrieval import evaluate
from service.rag.embeddings import get_embeddings
from service.rag.ingest import load_directory, split_documents
from service.rag.vectorstore import FaissStore

ROOT = Path(__file__).resolve().parents[1]
# Near-miss questions (answerable, in unusual words) and off-topic ones, both written blind:
# the tuning set's, never the held-out set's.
TUNING = ROOT / "bench" / "tuning"


def separation(store: FaissStore, folder: Path = TUNING) -> dict:
    """Return how well best-chunk similarity alone tells near-miss from off-topic questions.

    `auc` is the chance that a near-miss question's best similarity beats an off-topic one's
    (ties count half): at 1.0 one threshold would refuse every off-topic question and answer
    every near-miss; `off_above` counts the off-topic questions at or above the lowest
    near-miss, which such a threshold would answer.
    """
    questions = load_set(folder)

    def best(question: str) -> float:
        hits = store.similarity_search_with_score(question, k=1)
        return hits[0][1] if hits else 0.0

    near = [best(q.question) for q in questions.near_miss]
    off = [best(q.question) for q in questions.off_topic]
    wins = sum((n > o) + 0.5 * (n == o) for n in near for o in off)
    return {
        "auc": wins / (len(near) * len(off)),
        "off_above": sum(o >= min(near) for o in off),
        "near": len(near),
        "off": len(off),
    }


def score(embeddings: str, notes: Path, eval_file: Path, depth: int = 10) -> dict:
    """Index the notes as bench.retrieval does, with the named embedder; return its scores."""
    # Only the questions whose answer is in `notes` (quick mode indexes a few notes).
    present = {p.name for p in notes.glob("*.md")}
    items = [i for i in yaml.safe_load(eval_file.read_text()) if i["note"] in present]
    if not items:
        raise SystemExit(f"no eval question is answered by a note in {notes}")
    t0 = time.perf_counter()
    chunks = split_documents(load_directory(notes))
    store = FaissStore.empty(get_embeddings(embeddings))
    store.add_documents(chunks)
    store.similarity_search("warm up", k=1)  # hashing fits its IDF lazily, here
    index_s = time.perf_counter() - t0
    result = evaluate(store, items, depth)
    return {
        "embeddings": embeddings,
        "chunks": len(chunks),
        "questions": len(items),
        "index_s": index_s,
        "section": result["section"],
        "note": result["note"],
        "answered_by_extractive": result["answered_by_extractive"],
        "off_topic_refused": result["off_topic_refused"],
        "separation": separation(store),
    }


def main() -> None:
    """Print the scores of --embeddings as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embeddings", default="hashing", choices=["hashing", "minilm"])
    parser.add_argument("--notes", type=Path, default=ROOT / "notes")
    parser.add_argument("--eval", type=Path, default=ROOT / "bench" / "retrieval_eval.yaml")
    args = parser.parse_args()
    print(json.dumps(score(args.embeddings, args.notes, args.eval)))


if __name__ == "__main__":
    main()
