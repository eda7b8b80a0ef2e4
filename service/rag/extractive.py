"""Answer offline by extracting the retrieved sentences that best answer the question."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from langchain_core.documents import Document

from service.rag.analysis import analyze, terms, topic_terms
from service.rag.answers import (
    Answer,
    Citation,
    History,
    Hit,
    Weight,
    citation_for,
    refusal,
    trim,
)
from service.rag.arithmetic import work_out
from service.rag.embeddings import HashingEmbeddings
from service.rag.history import rewrite_offline
from service.rag.intent import fit, intent_of
from service.rag.relevance import MIN_SCORE, relevant_hits, shares_enough

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\[*])")
_MARKUP = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|#+\s+|>\s*)")
_FENCE = re.compile(r"^\s*(```|~~~)")
# A sentence that reports the guide's claim ("The guide says ...") sets up the correction that
# follows it in the notes: it is context, never the answer.
_REPORTED_CLAIM = re.compile(
    r"^The guide(?:'s \w+)? (?:also )?"
    r"(?:says|said|claims|writes|states|describes|suggests|implies|contradicts|misstates)\b"
)

_GUIDE_FIGURE = re.compile(r"^The guide(?:'s \w+)? (?:also )?\w+")


def sentences(text: str) -> list[str]:
    """Split chunk text into answer candidates: sentences, list items and table rows."""
    out: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or not line.strip():
            continue  # code is shown in the cited note, not quoted as a sentence
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                out.append(" | ".join(cells).replace("`", ""))
            continue
        line = _MARKUP.sub("", line).replace("**", "").replace("`", "").strip()
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if len(s.strip()) > 2)
    return out


def _following(sentence: str, doc: Document) -> str | None:
    """Return the sentence after `sentence` in its chunk (None: it is the last)."""
    found = _candidates(doc.page_content)
    n = found.index(sentence)
    return found[n + 1] if n + 1 < len(found) else None


def _preamble(doc: Document) -> bool:
    """Tell whether a chunk is a note's text before its first `##` heading (under the title)."""
    headings = doc.metadata.get("headings")
    return bool(headings) and " > " not in headings and doc.metadata.get("section") == headings


def _names_title(wanted: set[str], section: str) -> bool:
    """Tell whether the question's terms hold every content term of a section's title."""
    main, _ = analyze(section)
    return bool(main) and set(main) <= wanted


def _equal(term: str) -> float:
    """Weigh every term the same (no term weights given)."""
    return 1.0


@lru_cache(maxsize=4096)
def _candidates(text: str) -> tuple[str, ...]:
    """Return a chunk's sentences, cached: the same chunks are retrieved again and again."""
    return tuple(sentences(text))


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence and the parts of its score (ExtractiveAnswerer.weights mix them)."""

    sentence: str
    doc: Document
    rank: int  # its chunk's place among the relevant hits (0 = best retrieved)
    overlap: float  # the weighted share of the question's terms it holds (with its heading)
    similarity: float  # cosine of its hashing vector with the question's
    retrieval: float  # its chunk's retrieval score relative to the best chunk's
    fit: float  # gives the figure a "how long / how much" question asks for (intent.fit)
    total: float
    supports: bool  # holds enough of the question's terms, read under its heading


class ExtractiveAnswerer:
    """Answer with the retrieved sentences that best match the question, cited; never invent."""

    judges_relevance = False  # it matches words, so word evidence decides what it refuses
    # A sentence's score mixes how many of the question's terms it holds, how similar it is
    # as a whole, how well its chunk was retrieved (relative to the best chunk) and whether it
    # gives the figure a "how long / how much" question asks for (service/rag/intent.py).
    weights = (0.6, 0.25, 0.4, 0.3)
    # Sentences after the best one must score at least this share of its score.
    keep_ratio = 0.6
    # A note's opening paragraph sums up what its sections say in full: on bench/tuning a
    # small handicap for its sentences picked the section's own sentence twice more (0.05
    # and 0.1 alike, 0.2 lost one), and none worse.
    preamble_penalty = 0.05
    # A reported claim of the guide (the notes correct it in the sentences that follow).
    claim_penalty = 0.3
    # A section whose title the question names in full is where the notes answer it.
    title_bonus = 0.15

    def __init__(
        self,
        *,
        min_score: float = MIN_SCORE,
        max_sentences: int = 3,
        embeddings: HashingEmbeddings | None = None,
    ) -> None:
        self.min_score = min_score
        self.max_sentences = max_sentences
        self._embeddings = embeddings or HashingEmbeddings()
        # Sentence vectors are kept sparse (about 100 of 4096 entries are non-zero).
        self._sparse = lru_cache(maxsize=8192)(self._sparse_vector)

    def _sparse_vector(self, sentence: str) -> tuple[np.ndarray, np.ndarray]:
        """Return a sentence's vector as its non-zero indices and their values."""
        vec = self._embeddings.vector(sentence)
        idx = np.flatnonzero(vec)
        return idx, vec[idx]

    def condense(self, question: str, history: History) -> str:
        """Rewrite a follow-up deterministically (key words of the previous question)."""
        return rewrite_offline(question, history)

    def score_sentences(
        self, question: str, hits: list[Hit], weight: Weight | None = None
    ) -> list[ScoredSentence]:
        """Score every candidate sentence of relevant hits, best first (the parts kept to explain).

        `hits` are the relevant ones (relevance.relevant_hits); sentences sharing none of the
        question's terms are left out.
        """
        wanted = topic_terms(question)
        asked = intent_of(question)
        q_vec = self._embeddings.vector(question)
        scored: list[ScoredSentence] = []
        w_overlap, w_similarity, w_retrieval, w_fit = self.weights
        top = max(score for _, score in hits)
        weights = {t: (weight or _equal)(t) for t in wanted}  # weighed once per question
        total_weight = sum(weights.values()) or 1.0
        for rank, (doc, score) in enumerate(hits):
            headings = doc.metadata.get("headings")
            section = doc.metadata.get("section") or ""  # a sentence is read under its heading
            heading_terms = wanted & set(terms(section))
            titled = self.title_bonus if _names_title(wanted, section) else 0.0
            for n, sentence in enumerate(_candidates(doc.page_content)):
                if n == 0 and (sentence == headings or sentence[0].islower()):
                    continue  # the splitter's heading prefix, or a fragment cut by overlap
                # Half the sentence's own share of the question, half its share read under
                # its heading: "the default is 300 s" answers "cooldown default" in a
                # section titled "Cooldowns".
                own = wanted & set(terms(sentence))
                share = sum(weights[t] for t in own) / total_weight
                under = sum(weights[t] for t in own | heading_terms) / total_weight
                overlap = (share + under) / 2
                if not overlap:
                    continue
                supports = shares_enough(wanted, f"{section}\n{sentence}", weight)
                idx, values = self._sparse(sentence)
                similarity = float(np.dot(q_vec[idx], values))
                fits = fit(asked, sentence)
                total = w_overlap * overlap + w_similarity * similarity
                total += w_retrieval * score / top + w_fit * fits
                if _preamble(doc):
                    total -= self.preamble_penalty
                if _REPORTED_CLAIM.match(sentence):
                    total -= self.claim_penalty
                total += titled
                scored.append(
                    ScoredSentence(
                        sentence, doc, rank, overlap, similarity, score / top, fits, total, supports
                    )
                )
        scored.sort(key=lambda s: (-s.total, s.rank))
        return scored

    def pick(self, scored: list[ScoredSentence]) -> list[tuple[str, Document, str]]:
        """Return the (sentence, chunk, reason) lines an answer quotes, from scored sentences."""
        best = scored[0].total
        # The best sentence, then the one after it (where notes say what follows from it:
        # "A cooldown is a wait ..." then "For ECS services the default is 300 s"), then the
        # best of the rest.
        first = scored[0]
        picked = [(first.sentence, first.doc, "best score")]
        after = _following(first.sentence, first.doc)
        if after is not None and self.max_sentences > 1:
            picked.append((after, first.doc, "follows the best sentence in its chunk"))
        for s in scored:
            if s.total < self.keep_ratio * best or len(picked) >= self.max_sentences:
                break
            if all(s.sentence != p for p, _, _ in picked):
                reason = f"scores at least {self.keep_ratio:g} of the best"
                picked.append((s.sentence, s.doc, reason))
        return picked

    def answer(self, question: str, hits: list[Hit], weight: Weight | None = None) -> Answer:
        """Return the best-matching sentences of relevant hits, or say it does not know."""
        hits = relevant_hits(question, hits, self.min_score, weight)
        if not hits:
            return refusal(question)
        scored = self.score_sentences(question, hits, weight)
        if not any(s.supports for s in scored):
            # Chunk-level matches spread over unrelated sentences ("United States" meeting
            # "request units" and "state") are coincidence, not an answer.
            return refusal(question)
        picked = [(sentence, doc) for sentence, doc, _ in self.pick(scored)]
        lines = [(sentence, doc, sentence) for sentence, doc in picked]
        if intent_of(question).unit == "money" and (
            worked := self._work_out(question, picked, scored)
        ):
            # A cost the notes give as a rate: the sum takes the last place, cited to the
            # sentence with the rate.
            lines = [*lines[: max(self.max_sentences - 1, 1)], worked]
        return self._compose(question, lines)

    @staticmethod
    def _work_out(
        question: str, picked: list[tuple[str, Document]], scored: list[ScoredSentence]
    ) -> tuple[str, Document, str] | None:
        """Return (the worked-out sentence, its rate's chunk, the rate's sentence), or None."""
        docs = {s: d for s, d in picked} | {s.sentence: s.doc for s in reversed(scored)}
        # A figure the notes attribute to the guide ("The guide prices ... at $1.25") is the
        # one they correct next: never a rate to work with.
        order = [s for s, _ in picked] + [s.sentence for s in scored]
        order = [s for s in order if not _GUIDE_FIGURE.match(s)]
        worked = work_out(question, list(dict.fromkeys(order)))
        return None if worked is None else (worked.text, docs[worked.source], worked.source)

    def _compose(self, question: str, lines: list[tuple[str, Document, str]]) -> Answer:
        """Join (sentence, chunk, cited text) lines into an answer with numbered citations."""
        citations: list[Citation] = []
        keys: list[tuple[str, int | None]] = []
        snippets: dict[int, list[str]] = {}
        parts = []
        for sentence, doc, cited in lines:
            c = citation_for(doc, cited)
            key = (c.source, c.page)
            if key not in keys:
                keys.append(key)
                citations.append(c)
            n = keys.index(key)
            if cited not in snippets.setdefault(n, []):
                snippets[n].append(cited)
            parts.append(f"{sentence} [{n + 1}]")
        citations = [
            replace(c, snippet=trim(" … ".join(snippets[n]))) for n, c in enumerate(citations)
        ]
        return Answer(
            text=" ".join(parts),
            citations=citations,
            grounded=True,
            standalone_question=question,
            sources=[c.source for c in citations],
        )
