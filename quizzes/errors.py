"""Errors raised by the quizzes package."""


class QuizError(Exception):
    """Base class for every error the quizzes package raises on purpose."""


class BankError(QuizError):
    """The question bank is malformed; the message names the file, the line and the field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message, self.path, self.line, self.field = message, path, line, field
        where = f"{path}:{line}" if path and line else (path or "")
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


class DuplicateIdError(BankError):
    """Two items share an id; the message names both places."""


class UnknownReferenceError(BankError):
    """An item names a topic, chapter, section, erratum or follow-up that does not exist."""


class ComputeError(BankError):
    """A numeric item's `compute` names a function that is not allowed, missing or failing."""


class GradingError(QuizError):
    """An answer cannot be understood for this item type (e.g. 'x' for a numeric item)."""


class ProgressError(QuizError):
    """The progress database cannot be opened or written."""


class CorruptProgressError(ProgressError):
    """The progress database is corrupt; it was backed up and the message names the backup."""
