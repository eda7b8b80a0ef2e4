"""The contract every resource module keeps, and what a plan or an apply reports.

A resource module (deploy/resources/<name>.py) offers four functions; `deploy.stack` holds
the one map of what each needs and calls them in dependency order:

- `plan(ctx, names, *, <needs>..., <options>...) -> Result`: the diff, nothing written;
- `ensure(ctx, names, *, <needs>..., <options>...) -> Result`: find-or-create and converge;
- `describe(ctx, names) -> dict`: what exists, as plain data;
- `delete(ctx, names) -> list[Change]`: remove what ensure made.

`<needs>` are keyword arguments named after the resources it depends on, each the `outputs`
of that resource's own Result (for example ecs receives `network=NetworkOutputs(...)`), so
nothing is looked up by name that it could have been given. A module describes what it
owns once per call and decides from that, like Ansible's ecs_service module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from deploy.aws.errors import ResourceError

Action = Literal["create", "update", "unchanged", "delete", "absent"]
# In a plan, what only exists after apply (a new resource's ARN or id), as Terraform shows it.
UNKNOWN = "<known after apply>"


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


@dataclass(frozen=True)
class Result:
    """What plan or ensure did to one module's resources, and the outputs later ones need."""

    changes: list[Change]
    outputs: Any = None


@runtime_checkable
class Resource(Protocol):
    """The four functions every module in deploy/resources offers (modules satisfy it)."""

    def plan(self, ctx: Any, names: Any, **inputs: Any) -> Result:
        """Return the changes ensure would make, and the outputs as far as they are known."""
        ...

    def ensure(self, ctx: Any, names: Any, **inputs: Any) -> Result:
        """Create or converge the resources; return the changes made and the outputs."""
        ...

    def describe(self, ctx: Any, names: Any) -> dict:
        """Return what exists now, as plain data."""
        ...

    def delete(self, ctx: Any, names: Any) -> list[Change]:
        """Delete what ensure made; report each resource's deletion (or absence)."""
        ...


def diff(current: dict, desired: dict) -> dict:
    """Return {key: (current, desired)} for every desired key whose current value differs."""
    return {k: (current.get(k), v) for k, v in desired.items() if current.get(k) != v}


def known(value: object) -> bool:
    """Return True when a planned value is real (not None and not UNKNOWN)."""
    if isinstance(value, list | tuple):
        return bool(value) and all(known(v) for v in value)
    return value is not None and value != UNKNOWN


def require(what: str, needed_by: str, value: object) -> Any:
    """Return `value` when known, else raise ResourceError saying what must be applied first."""
    if not known(value):
        raise ResourceError(f"{needed_by} needs {what} first (apply it, or use deploy.stack)")
    return value


def tag_map(items: list[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """Return AWS's list-of-pairs tags as a plain mapping."""
    return {t[key]: t[value] for t in items or []}


def missing_tags(have: dict[str, str], want: dict[str, str]) -> dict[str, str]:
    """Return the wanted tags that are absent or different in `have`."""
    return {k: v for k, v in want.items() if have.get(k) != v}
