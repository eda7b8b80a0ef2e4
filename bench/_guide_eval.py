"""Score one embedder on bench/retrieval_eval.yaml; print JSON (run with each env's python)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from bench.retrieval import evaluate
from service.rag.embeddings import get_embeddings
from service.rag.ingest import load_directory, split_documents
from service.rag.vectorstore import FaissStore

ROOT = Path(__file__).resolve().parents[1]


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
