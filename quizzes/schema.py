"""Define the question bank's schema: one pydantic model per item type, keyed by `type`."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbook.coverage import chapter_names

TOPICS = (
    "architecture",
    "iam",
    "ecr",
    "ecs-cluster",
    "task-definition",
    "ecs-service",
    "alb",
    "secrets",
    "logs",
    "env-vars",
    "autoscaling",
    "cicd",
    "networking",
    "state",
    "troubleshooting",
    "costs",
    "docker",
)
# The chapter notebooks (notebooks/NN_slug.ipynb) are the chapter list; their
# metadata.workbook.chapter must equal NN (workbook.coverage.read_metadata checks it).
CHAPTERS = chapter_names()
ERRATA = range(1, 30)  # docs/errata.md items the bank may cite, and must cover (1..29)
INTERVIEW_QUESTIONS = range(1, 10)  # the guide's interview questions Q1..Q9
ALLOWED_COMPUTE_PREFIXES = (
    "deploy.models.cost.",
    "deploy.models.prices.",
    "deploy.models.rollout.",
    "deploy.models.scaling.",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ItemBase(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*-\d{3}$")
    chapter: str = Field(pattern=r"^\d{2}$")
    difficulty: Literal[1, 2, 3]
    guide_section: str = Field(min_length=1)
    erratum: int | None = Field(None, ge=ERRATA.start, le=ERRATA[-1])
    question: str = Field(min_length=1)
    explanation: str = Field(min_length=1)
    correction: str | None = None
    follow_ups: list[str] = Field(default_factory=list)

    @property
    def topic(self) -> str:
        """Return the topic encoded in the id (`<topic>-NNN`)."""
        return self.id.rsplit("-", 1)[0]


def _check_index(i: int, choices: list[str], field: str = "answer") -> None:
    if not 0 <= i < len(choices):
        raise ValueError(f"{field} index {i} is out of range for {len(choices)} choices")


class SingleItem(_ItemBase):
    """A single-choice question: exactly one right choice."""

    type: Literal["single"]
    choices: list[str] = Field(min_length=2)
    answer: int

    @model_validator(mode="after")
    def _answer_in_range(self):
        _check_index(self.answer, self.choices)
        return self


class MultipleItem(_ItemBase):
    """A multiple-choice question: a set of right choices."""

    type: Literal["multiple"]
    choices: list[str] = Field(min_length=2)
    answer: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _answers_in_range(self):
        if len(set(self.answer)) != len(self.answer):
            raise ValueError("answer lists an index twice")
        for i in self.answer:
            _check_index(i, self.choices)
        return self


class SpotTheBugItem(_ItemBase):
    """Show a config/policy snippet; the learner picks what is wrong with it."""

    type: Literal["spot_the_bug"]
    snippet: str = Field(min_length=1)
    choices: list[str] = Field(min_length=2)
    answer: int

    @model_validator(mode="after")
    def _answer_in_range(self):
        _check_index(self.answer, self.choices)
        return self


class NumericAnswer(_Strict):
    """A numeric answer with an absolute tolerance and a unit."""

    value: float
    tolerance: float = Field(0.0, ge=0)
    unit: str = ""


class Compute(_Strict):
    """A numeric answer computed by an allow-listed deploy model function."""

    function: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    tolerance: float = Field(0.0, ge=0)
    unit: str = ""
    round: int | None = None

    @model_validator(mode="after")
    def _allowed(self):
        if not self.function.startswith(ALLOWED_COMPUTE_PREFIXES):
            allowed = ", ".join(p.rstrip(".") for p in ALLOWED_COMPUTE_PREFIXES)
            raise ValueError(f"function {self.function!r} is not in an allowed module ({allowed})")
        return self


class NumericItem(_ItemBase):
    """A numeric question; `answer` is literal or filled in from `compute` at load time."""

    type: Literal["numeric"]
    answer: NumericAnswer | None = None
    compute: Compute | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.answer is None) == (self.compute is None):
            raise ValueError("numeric item needs exactly one of 'answer' or 'compute'")
        return self


class OrderingItem(_ItemBase):
    """Put steps in order; `steps` holds the right order and is shown shuffled."""

    type: Literal["ordering"]
    steps: list[str] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique(self):
        if len(set(self.steps)) != len(self.steps):
            raise ValueError("steps must be distinct")
        return self


class RubricPoint(_Strict):
    """A key point an interviewer listens for, with accepted phrasings."""

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)
    phrasings: list[str] = Field(default_factory=list)


class WrongClaim(_Strict):
    """A common wrong claim that costs points when made (not when denied)."""

    text: str = Field(min_length=1)
    phrasings: list[str] = Field(default_factory=list)
    penalty: float = Field(1.0, ge=0)
    contradicts: str | None = None  # the id of the rubric point this claim gets wrong


class Rubric(_Strict):
    """The points and wrong claims a free-text answer is graded against."""

    points: list[RubricPoint] = Field(min_length=1)
    wrong_claims: list[WrongClaim] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [p.id for p in self.points]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rubric point ids repeat: {sorted(ids)}")
        for claim in self.wrong_claims:
            if claim.contradicts is not None and claim.contradicts not in ids:
                raise ValueError(
                    f"wrong claim {claim.text!r} contradicts unknown rubric point "
                    f"{claim.contradicts!r} (points: {', '.join(ids)})"
                )
        return self


class FreeTextItem(_ItemBase):
    """An interview-style question answered in prose and graded against a rubric."""

    type: Literal["free_text"]
    model_answer: str = Field(min_length=1)
    rubric: Rubric
    # n when this item is the model answer to the guide's interview question Qn
    interview_question: int | None = Field(
        None, ge=INTERVIEW_QUESTIONS.start, le=INTERVIEW_QUESTIONS[-1]
    )


Item = Annotated[
    SingleItem | MultipleItem | NumericItem | OrderingItem | SpotTheBugItem | FreeTextItem,
    Field(discriminator="type"),
]


class BankFile(_Strict):
    """One topic file: quizzes/bank/<topic>.yaml."""

    topic: Literal[TOPICS]  # type: ignore[valid-type]
    items: list[Item] = Field(default_factory=list)


class Section(_Strict):
    """One section of the source guide (quizzes/sections.yaml)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str = Field(min_length=1)
    title: str = ""
    line: int | None = None
