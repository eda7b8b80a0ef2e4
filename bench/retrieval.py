"""Benchmark retrieval on the notes (recall@k, MRR) and time ingest of a 100-page PDF."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import yaml

from service.rag.chain import RagChain
from service.rag.embeddings import DEFAULT_DIM, HashingEmbeddings
from service.rag.extractive import ExtractiveAnswerer
from service.rag.ingest import load_bytes, load_directory, split_documents
from service.rag.samplepdf import text_pdf
from service.rag.vectorstore import FaissStore

ROOT = Path(__file__).resolve().parents[1]
OFF_TOPIC = [
    "What is the capital of France?",
    "write me a poem about cats",
    "Who won the football world cup in 2014?",
    "How do I bake sourdough bread?",
    "Translate 'good morning' into Japanese",
    "What is the boiling point of water at sea level?",
    "Recommend a good science fiction novel",
    "How many legs does a spider have?",
    "What is the meaning of life?",
    "How do I cook pasta?",
    "Tell me a joke",
    "What's the weather like today?",
    "How do I fix my car's brakes?",
    "What is quantum computing?",
    "Give me a recipe for chocolate cake",
    "Who painted the Mona Lisa?",
    "What is the speed of light?",
    "Summarize the plot of Hamlet",
    "How tall is Mount Everest?",
    "Explain photosynthesis",
    "Who is the president of the United States?",
]


def build_store(notes: Path, dim: int) -> tuple[FaissStore, int]:
    """Index the notes with the default loader, splitter and embedder."""
    chunks = split_documents(load_directory(notes))
    store = FaissStore.empty(HashingEmbeddings(dim=dim))
    store.add_documents(chunks)
    return store, len(chunks)


def rank_of(hits, note: str, section: str | None) -> int | None:
    """Return the 1-based rank of the first hit from note (and section, if given)."""
    for rank, (doc, _) in enumerate(hits, start=1):
        if doc.metadata.get("source") == note and section in (None, doc.metadata.get("section")):
            return rank
    return None


def summarize(ranks: list[int | None]) -> dict[str, float]:
    """Compute recall@1/3/5 and MRR (over the retrieved list) from first-hit ranks."""
    n = len(ranks)
    return {
        "recall@1": sum(r is not None and r <= 1 for r in ranks) / n,
        "recall@3": sum(r is not None and r <= 3 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def evaluate(store: FaissStore, items: list[dict], depth: int) -> dict:
    """Score every eval question at section level and note level."""
    section_ranks, note_ranks, misses, best_scores = [], [], [], []
    answered = cites_note = 0
    chain = RagChain(ExtractiveAnswerer())  # what /chat retrieves with: BM25 fused with FAISS
    for item in items:
        hits = chain.retrieve([store], item["question"], k=depth)
        best_scores.append(hits[0][1] if hits else 0.0)
        s_rank = rank_of(hits, item["note"], item["section"])
        section_ranks.append(s_rank)
        note_ranks.append(rank_of(hits, item["note"], None))
        answer = chain.ask([store], item["question"])
        answered += answer.grounded
        cites_note += bool(answer.citations) and answer.citations[0].source == item["note"]
        if s_rank is None or s_rank > 3:
            misses.append(
                {
                    "question": item["question"],
                    "expected": f"{item['note']} / {item['section']}",
                    "rank": s_rank,
                    "got": [
                        f"{d.metadata['source']} / {d.metadata.get('section')}" for d, _ in hits[:3]
                    ],
                }
            )
    off_hits = [chain.retrieve([store], q, k=4) for q in OFF_TOPIC]
    answered_off = [q for q in OFF_TOPIC if chain.ask([store], q).grounded]
    return {
        "questions": len(items),
        "section": summarize(section_ranks),
        "note": summarize(note_ranks),
        "answered_by_extractive": answered / len(items),
        "first_citation_from_expected_note": cites_note / len(items),
        "off_topic_refused": 1 - len(answered_off) / len(OFF_TOPIC),
        "off_topic_answered": answered_off,
        "best_score_min_on_topic": min(best_scores),
        "best_score_max_off_topic": max((h[0][1] for h in off_hits if h), default=0.0),
        "misses": misses,
    }


def time_pdf_ingest(notes: Path, pages: int, dim: int) -> dict[str, float]:
    """Generate a text PDF of `pages` pages from the notes and time load, split and index."""
    words = " ".join(d.page_content for d in load_directory(notes)).split()
    per_page = 450
    texts = [
        " ".join(words[(i * per_page) % len(words) :][:per_page]) or "filler" for i in range(pages)
    ]
    data = text_pdf(texts)
    t0 = time.perf_counter()
    docs = load_bytes(data, "generated.pdf")
    t1 = time.perf_counter()
    chunks = split_documents(docs)
    t2 = time.perf_counter()
    store = FaissStore.empty(HashingEmbeddings(dim=dim))
    store.add_documents(chunks)
    store.similarity_search("warm up", k=1)  # the IDF fit and embedding happen lazily here
    t3 = time.perf_counter()
    return {
        "pages": pages,
        "pdf_bytes": len(data),
        "chunks": len(chunks),
        "load_s": round(t1 - t0, 3),
        "split_s": round(t2 - t1, 3),
        "index_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
    }


def main() -> None:
    """Run the benchmark, print the figures and write bench/results/retrieval.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=Path, default=ROOT / "notes")
    parser.add_argument("--eval", type=Path, default=ROOT / "bench" / "retrieval_eval.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    parser.add_argument("--dim", type=int, default=DEFAULT_DIM)
    parser.add_argument("--depth", type=int, default=10, help="hits retrieved per question")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()

    items = yaml.safe_load(args.eval.read_text())
    t0 = time.perf_counter()
    store, n_chunks = build_store(args.notes, args.dim)
    store.similarity_search("warm up", k=1)
    index_s = time.perf_counter() - t0
    result = evaluate(store, items, args.depth)
    result["ingest_pdf"] = time_pdf_ingest(args.notes, args.pages, args.dim)
    result["corpus"] = {"notes": len(list(args.notes.glob("*.md"))), "chunks": n_chunks}
    result["notes_index_s"] = round(index_s, 3)
    result["embedder"] = {"name": "hashing", "dim": args.dim}
    result["machine"] = {"python": platform.python_version(), "cpu": platform.machine()}

    s, n = result["section"], result["note"]
    print(f"{result['questions']} questions over {n_chunks} chunks (dim {args.dim})")
    print(
        f"section-level  recall@1 {s['recall@1']:.3f}  recall@3 {s['recall@3']:.3f}  "
        f"recall@5 {s['recall@5']:.3f}  MRR {s['mrr']:.3f}"
    )
    print(
        f"note-level     recall@1 {n['recall@1']:.3f}  recall@3 {n['recall@3']:.3f}  "
        f"recall@5 {n['recall@5']:.3f}  MRR {n['mrr']:.3f}"
    )
    print(
        f"extractive answerer answers {result['answered_by_extractive']:.1%} of eval questions, "
        f"refuses {result['off_topic_refused']:.0%} of {len(OFF_TOPIC)} off-topic ones; "
        f"first citation from the expected note: {result['first_citation_from_expected_note']:.1%}"
    )
    print(
        f"best-hit score: lowest on-topic {result['best_score_min_on_topic']:.3f}, "
        f"highest off-topic {result['best_score_max_off_topic']:.3f}"
    )
    p = result["ingest_pdf"]
    print(
        f"{p['pages']}-page PDF ({p['pdf_bytes']} bytes, {p['chunks']} chunks): load "
        f"{p['load_s']} s, split {p['split_s']} s, index {p['index_s']} s, total {p['total_s']} s"
    )
    if args.show_misses:
        for miss in result["misses"]:
            print(f"\nMISS (rank {miss['rank']}): {miss['question']}\n  want {miss['expected']}")
            for got in miss["got"]:
                print(f"  got  {got}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
