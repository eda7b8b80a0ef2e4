"""What a plan or an apply does to one resource, as data the CLI and notebooks can show."""

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["create", "update", "unchanged", "delete", "absent"]


@dataclass(frozen=True)
class Change:
    """One resource's planned or applied change, e.g. ("ecs-service", "llmops-service-2", "create")."""

    kind: str
    name: str
    action: Action
    detail: dict = field(default_factory=dict)
    arn: str | None = None

    @property
    def changed(self) -> bool:
        """Return True when the resource was (or would be) created, updated or deleted."""
        return self.action in ("create", "update", "delete")


def diff(current: dict, desired: dict) -> dict:
    """Return {key: (current, desired)} for every desired key whose current value differs."""
    return {k: (current.get(k), v) for k, v in desired.items() if current.get(k) != v}
