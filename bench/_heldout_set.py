"""Read the held-out set (bench/heldout) strictly, and match key facts as its README says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from bench.figures import BenchError

HELDOUT = Path(__file__).resolve().parent / "heldout"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    """Refuse unknown fields and wrong types (a typo in the set must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Place(Strict):
    """A note and one of its `##` headings."""

    note: Text
    section: Text


class KeyFact(Strict):
    """What an answer must contain: one of `any_of`, and one of each `all_of` group."""

    any_of: list[Text] | None = None
    all_of: list[list[Text]] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> KeyFact:
        groups = ([self.any_of] if self.any_of is not None else []) + (self.all_of or [])
        if not groups:
            raise ValueError("needs any_of, all_of or both")
        if any(not group for group in groups) or self.all_of == []:
            raise ValueError("any_of, all_of and every all_of group must list alternatives")
        return self

    def found_in(self, text: str) -> bool:
        """Say whether text holds the fact (case-insensitive, whitespace-normalised)."""
        hay = normalise(text)

        def one_of(alternatives: list[str]) -> bool:
            return any(normalise(alt) in hay for alt in alternatives)

        return (self.any_of is None or one_of(self.any_of)) and all(
            one_of(group) for group in self.all_of or []
        )


class Question(Strict):
    """A question the notes answer (questions.yaml)."""

    id: Text
    note: Text
    section: Text
    also_in: list[Place] = []
    kind: Literal["quantity", "definition", "reason", "steps", "comparison"]
    style: Literal["paraphrase", "terse", "wordy", "typo"]
    question: Text
    key_fact: KeyFact
    note_for_reviewers: Text | None = None

    @property
    def places(self) -> list[Place]:
        """Return every section that states the key fact (`note`/`section`, then `also_in`)."""
        return [Place(note=self.note, section=self.section), *self.also_in]


class NearMiss(Question):
    """A question the notes answer, in unusual words (near_miss.yaml)."""

    how_unusual: Literal["slang", "other-vocabulary", "indirect"]


class OffTopic(Strict):
    """A question the notes do not answer (off_topic.yaml)."""

    id: Text
    question: Text
    why_off_topic: Text


class HeldoutError(BenchError):
    """Refuse a held-out set that does not follow bench/heldout/README.md."""


M = TypeVar("M", bound=Strict)


def normalise(text: str) -> str:
    """Lower-case text and collapse every run of whitespace to one space."""
    return " ".join(text.lower().split())


def _messages(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
    )


def load_file(path: Path, model: type[M]) -> list[M]:
    """Read one YAML file of entries; a bad entry raises HeldoutError naming file and id."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise HeldoutError(f"{path}: cannot read it: {exc}") from None
    if not isinstance(data, list) or not data:
        raise HeldoutError(f"{path}: expected a non-empty list of entries")
    items = []
    for n, entry in enumerate(data, start=1):
        ident = entry.get("id") if isinstance(entry, dict) else None
        where = f"{path}: {ident if isinstance(ident, str) else f'entry {n}'}"
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            raise HeldoutError(f"{where}: {_messages(exc)}") from None
    return items


@dataclass(frozen=True)
class Heldout:
    """The three files of the set, checked."""

    questions: list[Question]
    near_miss: list[NearMiss]
    off_topic: list[OffTopic]

    def entries(self) -> Iterator[tuple[str, Question | OffTopic]]:
        """Yield (file name, entry) over the three files."""
        for name, items in (
            ("questions.yaml", self.questions),
            ("near_miss.yaml", self.near_miss),
            ("off_topic.yaml", self.off_topic),
        ):
            for item in items:
                yield name, item


def load_set(folder: Path = HELDOUT) -> Heldout:
    """Load questions.yaml, near_miss.yaml and off_topic.yaml; ids must be unique across them."""
    heldout = Heldout(
        load_file(folder / "questions.yaml", Question),
        load_file(folder / "near_miss.yaml", NearMiss),
        load_file(folder / "off_topic.yaml", OffTopic),
    )
    seen: dict[str, str] = {}
    for name, item in heldout.entries():
        if item.id in seen:
            raise HeldoutError(f"{folder / name}: {item.id}: id already used in {seen[item.id]}")
        seen[item.id] = name
    return heldout


def check_places(heldout: Heldout, indexed: set[tuple[str, str]], folder: Path = HELDOUT) -> None:
    """Raise HeldoutError for a note/section the index does not hold (recall would hide it)."""
    for name, item in heldout.entries():
        for place in getattr(item, "places", []):
            if (place.note, place.section) not in indexed:
                raise HeldoutError(
                    f"{folder / name}: {item.id}: no section {place.section!r} in {place.note} "
                    "(fix it through the notes: bench/heldout/README.md)"
                )
