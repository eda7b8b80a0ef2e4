"""The one structured result every grader returns (offline rules, LLM, choice checks)."""

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["good", "partial", "wrong"]
# The learner's own rating against the rubric's checklist (Anki's buttons, minus Easy).
SelfRating = Literal["again", "hard", "good"]
SELF_VERDICT: dict[str, Verdict] = {"again": "wrong", "hard": "partial", "good": "good"}
# Score bands of the verdicts (rubric_verdict): a self-rated grade keeps the grader's score
# moved into its band.
_BANDS: dict[str, tuple[float, float]] = {
    "wrong": (0.0, 0.29),
    "partial": (0.3, 0.69),
    "good": (0.7, 1.0),
}
# Below this confidence a grader says "unsure" and the learner rates the answer. Calibrated
# on the tuning sets of bench/quiz_grading.py, aiming at issue 14's goals: confident verdicts
# agree >= 0.92 with the labels and at most 20 % of answers are unsure.
UNSURE_BELOW = 0.5


class MachineGrade(BaseModel):
    """What the grader said, kept beside the learner's own rating."""

    grader: str
    verdict: Verdict
    score: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)


class Grade(BaseModel):
    """A graded answer: verdict, score 0..1, what was covered or missed, and feedback."""

    # unsure (confidence below UNSURE_BELOW): the grader does not trust its verdict; the
    # learner rates the answer against the checklist (`rated`) and the grade then holds the
    # learner's verdict, with the grader's in `machine`.

    item_id: str
    verdict: Verdict
    score: float = Field(ge=0.0, le=1.0)
    covered: list[str] = Field(default_factory=list, description="rubric point ids covered")
    missed: list[str] = Field(default_factory=list, description="rubric point ids missed")
    wrong_claims: list[str] = Field(default_factory=list, description="wrong claims made")
    rejected_claims: list[str] = Field(
        default_factory=list, description="wrong claims the answer correctly denied"
    )
    contradicted: list[str] = Field(
        default_factory=list, description="rubric point ids a wrong claim contradicts"
    )
    feedback: str = ""
    grader: str = "offline"
    confidence: float = Field(1.0, ge=0.0, le=1.0, description="how sure the grader is")
    unsure: bool = False
    self_rating: SelfRating | None = None
    machine: MachineGrade | None = None

    @property
    def correct(self) -> bool:
        """Return True only for a good verdict."""
        return self.verdict == "good"

    @property
    def shown_verdict(self) -> str:
        """Return the verdict to show: "unsure" until the learner has rated an unsure grade."""
        return "unsure" if self.unsure and self.self_rating is None else self.verdict

    @property
    def needs_self_rating(self) -> bool:
        """Say whether the learner should rate this answer against the checklist."""
        return self.unsure and self.self_rating is None

    def rated(self, rating: SelfRating) -> "Grade":
        """Return the grade decided by the learner's rating; the grader's grade is kept."""
        if rating not in SELF_VERDICT:
            raise ValueError(f"rating must be one of {', '.join(SELF_VERDICT)}, got {rating!r}")
        verdict = SELF_VERDICT[rating]
        lo, hi = _BANDS[verdict]
        machine = self.machine or MachineGrade(
            grader=self.grader, verdict=self.verdict, score=self.score, confidence=self.confidence
        )
        return self.model_copy(
            update={
                "verdict": verdict,
                "score": round(min(hi, max(lo, machine.score)), 3),
                "grader": "self",
                "self_rating": rating,
                "machine": machine,
            }
        )


def verdict_for(
    score: float,
    *,
    wrong_claims: int = 0,
    anything: bool = True,
    good: float = 0.7,
    partial: float = 0.3,
) -> Verdict:
    """Map a score to good/partial/wrong; a wrong claim caps the verdict at partial."""
    if not anything or score < partial:
        return "wrong"
    if score >= good and wrong_claims == 0:
        return "good"
    return "partial"


GOOD_SCORE = 0.7  # a rubric answer at or above this score (and no wrong claim) is good
# Below this share of the rubric's weight covered it is wrong: one point of four (or a
# weight-2 point of seven) is a thin answer, partial, as the tuning sets label it.
PARTIAL_COVERAGE = 0.25
# A keyword list explains nothing: at best partial, when it names most of the rubric's points.
LIST_PARTIAL_COVERAGE = 0.5


def rubric_verdict(
    coverage: float,
    score: float,
    wrong_claims: int,
    contradicted: bool = False,
    *,
    listed: bool = False,
) -> Verdict:
    """Verdict for a rubric answer: little right, or a key point contradicted -> wrong."""
    # coverage: share of rubric weight covered; score: coverage minus penalties.
    if contradicted or coverage < PARTIAL_COVERAGE or (wrong_claims and score <= 0.0):
        return "wrong"  # a key point got wrong, little right, or the wrong claims outweigh it
    if listed:  # names without sentences: never good
        return "partial" if coverage >= LIST_PARTIAL_COVERAGE and not wrong_claims else "wrong"
    if wrong_claims:
        return "partial"
    return "good" if score >= GOOD_SCORE else "partial"
