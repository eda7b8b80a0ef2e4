"""Self-checking exercises: a prompt, a check giving specific feedback, a solution kept aside.

A chapter's exercises live in `workbook.checks.chNN` (`EXERCISES`), their solutions in
`workbook.solutions.chNN` (`SOLUTIONS`, by exercise id), out of the notebook. In a chapter:

    work = exercises.chapter("03", solutions=SOLUTIONS, ctx=ctx, names=names)
    app_policy = work.check("03-1", app_policy, bucket_arn=bucket_arn)   # prints the feedback
    exercises.show_solution("03-1")                                       # only when asked

A blank is `...` (or a "TODO" string) anywhere in the answer: its check prints "not done yet"
and never raises, so a chapter as shipped runs green. With `solutions=True` (the papermill
parameter CI injects) each check uses the solution instead and raises if it does not pass.
"""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

NOT_DONE = "not done yet"
TODO = "TODO"


class ExerciseError(AssertionError):
    """An exercise id is unknown, or a check failed while solutions were injected."""


class NotDone(Exception):
    """Raised by a check when the learner has not attempted the exercise yet."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id ("03-2"), what to do, and a check returning the problems found."""

    id: str
    prompt: str
    check: Callable[..., list[str]]  # check(answer, **context) -> problems; [] when right
    # A function answer is called with these context values, in order; () means a value answer.
    args: tuple[str, ...] = ()
    # reset(**context) removes what an earlier attempt made, so a re-run starts clean.
    reset: Callable[..., None] | None = None


@dataclass(frozen=True)
class Outcome:
    """How one check went: passed, not done yet, or to fix (with the reasons)."""

    id: str
    status: Literal["passed", "not done", "to fix"]
    messages: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Return True when the check found nothing to fix."""
        return self.status == "passed"

    def __str__(self) -> str:
        if self.status == "not done":
            return f"· {self.id} {NOT_DONE}: {' '.join(self.messages)}"
        if self.passed:
            extra = f": {' '.join(self.messages)}" if self.messages else ""
            return f"✓ {self.id} passed{extra}"
        return f"✗ {self.id} needs a fix:\n" + "\n".join(f"  - {m}" for m in self.messages)


def _code_has_blank(code: types.CodeType) -> bool:
    # `a, b = ..., ...` compiles to one constant tuple: look inside constant tuples too.
    return any(_const_has_blank(const) for const in code.co_consts)


def _const_has_blank(const: object) -> bool:
    if const is Ellipsis or (isinstance(const, str) and TODO in const):
        return True
    if isinstance(const, tuple | frozenset):
        return any(_const_has_blank(c) for c in const)
    return isinstance(const, types.CodeType) and _code_has_blank(const)


def is_blank(value: object) -> bool:
    """Return True when `value` still holds a blank: `...` or "TODO", at any depth."""
    if value is Ellipsis:
        return True
    if isinstance(value, str):
        return TODO in value
    if isinstance(value, dict):
        return any(is_blank(k) or is_blank(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(is_blank(v) for v in value)
    if isinstance(value, types.FunctionType):
        return _code_has_blank(value.__code__)
    return False


def _mentions_todo(value: object) -> bool:
    """Return True when the blank left is a "TODO" string rather than `...`."""
    if isinstance(value, str):
        return TODO in value
    if isinstance(value, dict):
        return any(_mentions_todo(v) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(_mentions_todo(v) for v in value)
    return False


def _module(kind: str, chapter: str) -> types.ModuleType:
    name = f"workbook.{kind}.ch{chapter}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise ExerciseError(f"chapter {chapter!r} has no {kind} module ({name})") from exc


def exercises_of(chapter: str) -> dict[str, Exercise]:
    """Return a chapter's exercises by id, in order."""
    return {ex.id: ex for ex in _module("checks", chapter).EXERCISES}


def _chapter_of(exercise_id: str) -> str:
    chapter = exercise_id.split("-", 1)[0]
    if not (len(chapter) == 2 and chapter.isdigit()):
        raise ExerciseError(f"an exercise id looks like '03-2', got {exercise_id!r}")
    return chapter


def solution(exercise_id: str) -> Any:
    """Return the stored solution of an exercise (a function, or a builder of the value)."""
    found = _module("solutions", _chapter_of(exercise_id)).SOLUTIONS
    if exercise_id not in found:
        raise ExerciseError(f"no solution for exercise {exercise_id!r}; known: {sorted(found)}")
    return found[exercise_id]


def solution_source(exercise_id: str) -> str:
    """Return the source text of an exercise's solution."""
    return inspect.getsource(solution(exercise_id))


def show_solution(exercise_id: str) -> None:
    """Print an exercise's solution (only when the learner asks for it)."""
    print(f"# solution to exercise {exercise_id} (workbook/solutions)\n")
    print(solution_source(exercise_id))


def _call(fn: Callable, context: dict) -> Any:
    """Call `fn` with the context values its parameters name (all of them if it takes **)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**context)
    return fn(**{p.name: context[p.name] for p in params if p.name in context})


def evaluate(exercise: Exercise, answer: Any, context: dict) -> Outcome:
    """Check one answer; blanks give "not done yet", learner errors become feedback."""
    if is_blank(answer):
        blank = "TODO" if _mentions_todo(answer) else "..."
        where = f"replace each {blank} in the EXERCISE {exercise.id} cell, then run it"
        return Outcome(exercise.id, "not done", (where,))
    try:
        if exercise.args:
            if not callable(answer):
                want = ", ".join(exercise.args)
                return Outcome(exercise.id, "to fix", (f"the answer is a function of ({want})",))
            missing = [a for a in exercise.args if a not in context]
            if missing:
                raise ExerciseError(f"exercise {exercise.id} needs {missing} passed to check()")
            if exercise.reset is not None:
                _call(exercise.reset, context)
            try:
                answer = answer(*(context[a] for a in exercise.args))
            except Exception as exc:  # the learner's code: its error is the feedback
                return Outcome(
                    exercise.id, "to fix", (f"your function raised {type(exc).__name__}: {exc}",)
                )
        problems = _call(exercise.check, {**context, "answer": answer})
    except NotDone as exc:
        return Outcome(exercise.id, "not done", (str(exc),))
    return Outcome(exercise.id, "to fix" if problems else "passed", tuple(problems))


@dataclass
class Workbook:
    """A chapter's exercises, the context their checks get, and whether solutions are injected."""

    chapter: str
    solutions: bool = False
    context: dict = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.exercises = exercises_of(self.chapter)

    def check(self, exercise_id: str, answer: Any, **context: Any) -> Any:
        """Check an answer, print the feedback, and return the answer used (the solution's in CI)."""
        if exercise_id not in self.exercises:
            raise ExerciseError(
                f"chapter {self.chapter} has no exercise {exercise_id!r}; "
                f"it has {', '.join(self.exercises)}"
            )
        exercise, every = self.exercises[exercise_id], {**self.context, **context}
        if self.solutions:
            stored = solution(exercise_id)
            answer = stored if exercise.args else _call(stored, every)
        outcome = evaluate(exercise, answer, every)
        self.outcomes[exercise_id] = outcome
        print(outcome)
        if self.solutions and not outcome.passed:
            raise ExerciseError(f"the stored solution of {exercise_id} does not pass: {outcome}")
        return answer

    def summary(self) -> str:
        """Return how many of the chapter's exercises pass, are not done, or need a fix."""
        counts = {s: 0 for s in ("passed", "not done", "to fix")}
        for ex_id in self.exercises:
            outcome = self.outcomes.get(ex_id)
            counts[outcome.status if outcome else "not done"] += 1
        return (
            f"chapter {self.chapter}: {len(self.exercises)} exercises · {counts['passed']} passed"
            f" · {counts['not done']} {NOT_DONE} · {counts['to fix']} to fix"
        )


def chapter(number: str, *, solutions: bool = False, **context: Any) -> Workbook:
    """Return chapter `number`'s exercises, with the context every check receives."""
    if not isinstance(solutions, bool):
        raise ExerciseError(f"solutions must be True or False, got {solutions!r}")
    return Workbook(number, solutions, context)
