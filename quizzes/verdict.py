"""The one structured result every grader returns (offline rules, LLM, choice checks)."""

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["good", "partial", "wrong"]


class Grade(BaseModel):
    """A graded answer: verdict, score 0..1, what was covered or missed, and feedback."""

    item_id: str
    verdict: Verdict
    score: float = Field(ge=0.0, le=1.0)
    covered: list[str] = Field(default_factory=list, description="rubric point ids covered")
    missed: list[str] = Field(default_factory=list, description="rubric point ids missed")
    wrong_claims: list[str] = Field(default_factory=list, description="wrong claims made")
    rejected_claims: list[str] = Field(
        default_factory=list, description="wrong claims the answer correctly denied"
    )
    feedback: str = ""
    grader: str = "offline"

    @property
    def correct(self) -> bool:
        """Return True only for a good verdict."""
        return self.verdict == "good"


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


def rubric_verdict(coverage: float, score: float, wrong_claims: int) -> Verdict:
    """Verdict for a rubric answer: nothing or little right -> wrong; any wrong claim -> partial."""
    # coverage: share of rubric weight covered; score: coverage minus penalties.
    if coverage < 0.3 or (wrong_claims and score <= 0.0):
        return "wrong"  # little right, or the wrong claims outweigh what was right
    if wrong_claims:
        return "partial"
    return "good" if score >= 0.7 else "partial"
