"""Report which guide sections and errata have no quiz items."""

from dataclasses import dataclass

from quizzes.loader import Bank
from quizzes.schema import ERRATA


@dataclass(frozen=True)
class Coverage:
    """Guide sections and errata numbers that no item covers."""

    missing_sections: list[str]
    missing_errata: list[int]

    @property
    def complete(self) -> bool:
        """Return True when every section and erratum has at least one item."""
        return not self.missing_sections and not self.missing_errata


def coverage(bank: Bank) -> Coverage:
    """Return the sections (from sections.yaml) and errata (1..28) with no items."""
    used_sections = {it.guide_section for it in bank.items.values()}
    used_errata = {it.erratum for it in bank.items.values() if it.erratum is not None}
    return Coverage(
        missing_sections=[s.id for s in bank.sections if s.id not in used_sections],
        missing_errata=[n for n in ERRATA if n not in used_errata],
    )
