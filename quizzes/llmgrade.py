"""Grade a free-text answer with a chat model, returning the same `Grade` as the offline grader.

The way to grade paraphrases: the offline grader matches the rubric's phrasings (with
stems, number words and small typos), so an answer that says a point in other words may go
unseen, and it says so by marking the grade unsure. A chat model (Ollama, Groq, Google or
Bedrock through LangChain's `init_chat_model`) reads meaning instead. It is kept to the
rubric: it returns the ids of the points covered, the rubric's wrong claims made or denied
and how sure it is; the verdict and score come from the rule both graders share
(`scoring.verdict_of`), and a low confidence, or a score near a verdict's line, makes the
grade unsure, as offline.

`LLMGrader` is what a session, the CLI (`--grader llm`) and the widgets take: it grades with
the model and, when a call fails mid-interview (a timeout, a reply that is not a verdict),
grades that answer offline and says so in its feedback, so no answer is lost. A call that
has not answered within `timeout_s` (QUIZ_GRADER_TIMEOUT_S) counts as failed: a hung
provider never blocks a mock interview.
`chat_model_for` builds the model from the service's settings through
`service/rag/providers.py`, the one place that knows the providers.
"""

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from quizzes.errors import GradingError, QuizError
from quizzes.freetext import claims_named, feedback, grade_free_text
from quizzes.schema import FreeTextItem
from quizzes.scoring import boundary_doubt, contradicted_by, coverage_of, score_of, verdict_of
from quizzes.verdict import UNSURE_BELOW, Grade

if TYPE_CHECKING:
    from service.config import Settings

_SYSTEM = (
    "You are a strict interviewer grading a spoken answer about deploying a service on AWS ECS "
    "Fargate. Use ONLY the rubric. A point is covered when the answer states it in substance, "
    "even in other words; keywords without a claim do not count, and neither does a point the "
    "answer negates ('X is not an issue') or gives to the wrong actor (the task role doing the "
    "execution role's job, the scale-in alarm's timing given to scale-out). A wrong claim counts "
    "only when the candidate asserts it, not when they deny it or attribute it to someone else. "
    "Return the rubric point ids covered, the texts of the wrong claims made and denied, your "
    "confidence from 0 to 1 that an experienced interviewer would agree, and one or two "
    "sentences of feedback."
)
_JSON_ONLY = (
    "Reply with one JSON object and nothing else, with the keys covered (list of point ids), "
    "wrong_claims (list of claim texts), rejected_claims (list of claim texts), confidence "
    "(number 0..1) and feedback (string)."
)
_OBJECT = re.compile(r"\{.*\}", re.S)


class Judgement(BaseModel):
    """What the chat model returns: rubric ids and claim texts, and how sure it is."""

    covered: list[str] = Field(default_factory=list, description="ids of rubric points stated")
    wrong_claims: list[str] = Field(
        default_factory=list, description="texts of the rubric's wrong claims the answer asserts"
    )
    rejected_claims: list[str] = Field(
        default_factory=list, description="texts of the rubric's wrong claims the answer denies"
    )
    confidence: float = Field(
        ge=0.0, le=1.0, description="0..1: how sure an interviewer would agree with this"
    )
    feedback: str = ""


def build_messages(item: FreeTextItem, answer: str) -> list[tuple[str, str]]:
    """Return the (role, text) messages sent to the chat model."""
    rubric = {
        "points": [{"id": p.id, "text": p.text} for p in item.rubric.points],
        "wrong_claims": [c.text for c in item.rubric.wrong_claims],
    }
    human = (
        f"Question: {item.question}\nModel answer: {item.model_answer}\n"
        f"Rubric: {json.dumps(rubric)}\nCandidate answer: {answer}"
    )
    return [("system", _SYSTEM), ("human", human)]


def _parse(text: str) -> Judgement:
    """Read a Judgement from a model's JSON reply (code fences and prose around it allowed)."""
    found = _OBJECT.search(text)
    if not found:
        raise GradingError(f"the model's reply holds no JSON object: {text[:200]!r}")
    try:
        return Judgement.model_validate_json(found.group())
    except ValidationError as exc:
        raise GradingError(f"the model's reply is not a grading verdict: {exc}") from exc


def ask(chat_model: Any, item: FreeTextItem, answer: str) -> Judgement:
    """Ask the model for a Judgement: structured output, or plain JSON when it has none."""
    messages = build_messages(item, answer)
    try:
        structured = chat_model.with_structured_output(Judgement)
    except NotImplementedError:  # models without tool calling or a JSON mode
        structured = None
    try:
        if structured is not None:
            raw = structured.invoke(messages)
        else:
            reply = chat_model.invoke([*messages, ("system", _JSON_ONLY)])
            raw = _parse(str(getattr(reply, "content", reply)))
    except GradingError:
        raise
    except Exception as exc:  # provider errors, refusals, schema mismatches
        raise GradingError(f"LLM grading failed for {item.id}: {exc}") from exc
    if isinstance(raw, dict):
        try:
            raw = Judgement.model_validate(raw)
        except ValidationError as exc:
            raise GradingError(f"LLM grading for {item.id} returned no verdict: {exc}") from exc
    if not isinstance(raw, Judgement):
        raise GradingError(
            f"LLM grading for {item.id} returned {type(raw).__name__}, not a Judgement"
        )
    return raw


def grade_with_llm(item: FreeTextItem, answer: str, chat_model: Any) -> Grade:
    """Grade with `chat_model` (any LangChain chat model), kept to the rubric; a `Grade`."""
    if not (answer or "").strip():
        return grade_free_text(item, "")  # never spend a call (or trust one) on nothing
    got = ask(chat_model, item, answer)
    ids = [p.id for p in item.rubric.points]
    texts = [c.text for c in item.rubric.wrong_claims]
    covered = [i for i in ids if i in got.covered]  # ids the rubric does not have are dropped
    made = claims_named(item, got.wrong_claims)
    rejected = [t for t in texts if t in got.rejected_claims and t not in got.wrong_claims]
    # Score and verdict come from the same rule as the offline grader, not from the model.
    verdict, score = verdict_of(item, covered, made)
    near = boundary_doubt(coverage_of(item, covered), score_of(item, covered, made), made)
    confidence = round(min(got.confidence, 1.0 - near), 3)
    unsure = confidence < UNSURE_BELOW
    return Grade(
        item_id=item.id,
        verdict=verdict,
        score=round(score, 3),
        covered=covered,
        missed=[i for i in ids if i not in covered],
        wrong_claims=[c.text for c in made],
        rejected_claims=rejected,
        contradicted=contradicted_by(made),
        grader="llm",
        confidence=confidence,
        unsure=unsure,
        feedback=feedback(
            item,
            covered,
            [c.text for c in made],
            rejected,
            verdict,
            got.feedback.strip(),
            unsure=unsure,
            contradicted=contradicted_by(made),
        ),
    )


FALLBACK = "The LLM grader failed"  # how a fallback grade's feedback begins
DEFAULT_TIMEOUT_S = 60.0  # QUIZ_GRADER_TIMEOUT_S's default (quizzes/config.py)


def within(call: Callable[[], Grade], timeout_s: float) -> Grade:
    """Return call() if it finishes within timeout_s; else raise a GradingError naming it."""
    # A daemon thread: a provider that never answers is left behind, not waited for.
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["grade"] = call()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="llm-grader", daemon=True).start()
    if not done.wait(timeout_s):
        raise GradingError(f"no reply within the {timeout_s:g} s timeout (QUIZ_GRADER_TIMEOUT_S)")
    if "error" in box:
        raise box["error"]
    return box["grade"]


def fallback_note(grade: Grade) -> str | None:
    """Return the note of a grade the offline grader gave after the LLM call failed, else None."""
    first = grade.feedback.split("\n", 1)[0]
    return first if first.startswith(FALLBACK) else None


def graded_by(grade: Grade) -> str:
    """Say which grader decided a grade: llm, offline, offline after a failed LLM call, you."""
    if grade.machine is not None and grade.self_rating is not None:
        return f"you (self-rated; the {grade.machine.grader} grader was unsure)"
    if fallback_note(grade) is not None:
        return "offline (the LLM grader failed)"
    return grade.grader


@dataclass(frozen=True)
class LLMGrader:
    """Grade free-text answers with a chat model; when a call fails, grade offline and say so."""

    chat_model: Any
    label: str = "llm"  # e.g. "llm (groq, llama-3.1-8b-instant)", for reports
    timeout_s: float = DEFAULT_TIMEOUT_S  # a call still unanswered after this has failed

    def __post_init__(self) -> None:
        """Refuse a timeout that is not a positive number of seconds."""
        if not self.timeout_s > 0:
            raise QuizError(f"the llm grader's timeout must be > 0 s, got {self.timeout_s!r}")

    def __call__(self, item: FreeTextItem, answer: str) -> Grade:
        """Return the model's grade, or the offline grade with a note when the call failed."""
        try:
            return within(lambda: grade_with_llm(item, answer, self.chat_model), self.timeout_s)
        except Exception as exc:  # a provider error, a timeout, a reply that is no verdict
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            offline = grade_free_text(item, answer)
            note = f"{FALLBACK} ({reason}); this answer was graded offline instead."
            return offline.model_copy(update={"feedback": f"{note}\n{offline.feedback}"})


def chat_model_for(settings: "Settings") -> Any:
    """Build the chat model LLM_PROVIDER / LLM_MODEL name; a QuizError names what is missing."""
    provider = settings.llm_provider
    if provider == "offline":
        raise QuizError(
            "the llm grader needs a chat model: set LLM_PROVIDER to groq, google, bedrock or "
            "ollama (and LLM_MODEL, or the provider's default), or use --grader offline"
        )
    # The service's own factory (service/rag/providers.py through service.chat): the same
    # provider names, keys, endpoints and install hints; imported only for the llm grader.
    from service.chat import answerer_for
    from service.config import PROVIDER_KEYS
    from service.rag.errors import RagError

    variable = PROVIDER_KEYS.get(provider)
    if variable and not getattr(settings, variable.lower()):
        raise QuizError(f"the llm grader with LLM_PROVIDER={provider} needs {variable} set")
    try:
        return answerer_for(settings).chat_model
    except RagError as exc:
        raise QuizError(f"the llm grader cannot start: {exc}") from exc


def llm_grader(settings: "Settings", timeout_s: float = DEFAULT_TIMEOUT_S) -> LLMGrader:
    """Return the LLM grader for the service's provider settings (raises QuizError if unusable)."""
    chat_model = chat_model_for(settings)
    from service.rag.providers import model_name

    model = model_name(settings.llm_provider, settings.llm_model)
    return LLMGrader(
        chat_model, label=f"llm ({settings.llm_provider}, {model})", timeout_s=timeout_s
    )
