"""The target-health table the data plane writes, and the moto extension that serves it.

moto keeps an ELBv2 target group's registered targets and calls every one of them healthy.
While the data plane runs, `install(table)` makes moto's models answer
`describe-target-health` from this table instead (the states the health checker measured),
keep a target per id *and port* as AWS does (two local tasks share 127.0.0.1 on different
ports), and tell the table when a target is registered or deregistered. `uninstall(table)`
puts moto's own behaviour back.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from moto.elbv2 import models as elbv2_models
from moto.elbv2.exceptions import InvalidTargetError

from emulator.clock import Clock

State = Literal["initial", "healthy", "unhealthy", "draining", "unused", "unavailable"]

# AWS's reason codes and the descriptions describe-target-health gives with them.
REGISTRATION = "Elb.RegistrationInProgress"
INITIAL_CHECKS = "Elb.InitialHealthChecking"
CODE_MISMATCH = "Target.ResponseCodeMismatch"
TIMEOUT = "Target.Timeout"
FAILED = "Target.FailedHealthChecks"
DEREGISTERING = "Target.DeregistrationInProgress"
NOT_IN_USE = "Target.NotInUse"
CHECKS_DISABLED = "Target.HealthCheckDisabled"
DESCRIPTIONS = {
    REGISTRATION: "Target registration is in progress",
    INITIAL_CHECKS: "Initial health checks in progress",
    CODE_MISMATCH: "Health checks failed with these codes: [{codes}]",
    TIMEOUT: "Request timed out",
    FAILED: "Health checks failed",
    DEREGISTERING: "Target deregistration is in progress",
    NOT_IN_USE: "Target group is not configured to receive traffic from the load balancer",
    CHECKS_DISABLED: "Health checks are disabled",
}
DELAY_KEY = "deregistration_delay.timeout_seconds"
DEFAULT_DELAY = 300


@dataclass(frozen=True)
class Health:
    """One target's health as describe-target-health reports it."""

    state: State
    reason: str | None = None
    description: str | None = None
    drain_until: float | None = None  # a draining target disappears at this clock reading

    @classmethod
    def of(cls, state: State, reason: str | None = None, **fill: object) -> Health:
        """Return `state` with `reason` and AWS's description of it (`fill` completes it)."""
        description = DESCRIPTIONS[reason].format(**fill) if reason else None
        return cls(state, reason, description)

    @property
    def routable(self) -> bool:
        """Say whether the load balancer sends new requests here while any target is healthy."""
        return self.state in ("healthy", "unavailable")


Key = tuple[str, str, int]  # target group ARN, target id, port


class HealthTable:
    """Target health per (target group ARN, target id, port) for one account and region."""

    def __init__(self, account_id: str, region: str, clock: Clock) -> None:
        self.account_id = account_id
        self.region = region
        self.clock = clock
        self._prefix = f"arn:aws:elasticloadbalancing:{region}:{account_id}:targetgroup/"
        self._rows: dict[Key, Health] = {}
        self._lock = threading.Lock()
        # Every change of state, in order: (clock reading, key, state, reason). The rollout
        # model is checked against these measured timings.
        self.history: list[tuple[float, Key, State, str | None]] = []
        # Called (from moto's thread) after a registration or deregistration, so the checker
        # starts probing a new target at once rather than at its next look.
        self.on_change: Callable[[], None] | None = None

    def manages(self, target_group_arn: str) -> bool:
        """Say whether `target_group_arn` is in this table's account and region."""
        return target_group_arn.startswith(self._prefix)

    def set(self, target_group_arn: str, target_id: str, port: int, health: Health) -> None:
        """Record a target's health."""
        key = (target_group_arn, target_id, int(port))
        with self._lock:
            before = self._rows.get(key)
            self._rows[key] = health
            if before is None or (before.state, before.reason) != (health.state, health.reason):
                self.history.append((self.clock.now(), key, health.state, health.reason))

    def states(self, target_group_arn: str, target_id: str, port: int) -> list[State]:
        """Return the states a target went through, in order (repeats collapsed)."""
        key = (target_group_arn, target_id, int(port))
        with self._lock:
            seen = [state for _, k, state, _ in self.history if k == key]
        return [state for i, state in enumerate(seen) if i == 0 or seen[i - 1] != state]

    def get(self, target_group_arn: str, target_id: str, port: int) -> Health | None:
        """Return a target's health, or None if the table has never seen it."""
        with self._lock:
            return self._rows.get((target_group_arn, target_id, int(port)))

    def remove(self, target_group_arn: str, target_id: str, port: int) -> None:
        """Forget a target (its draining ended, or its target group is gone)."""
        with self._lock:
            self._rows.pop((target_group_arn, target_id, int(port)), None)

    def rows(self, target_group_arn: str | None = None) -> dict[Key, Health]:
        """Return a copy of the rows (of one target group, or all)."""
        with self._lock:
            return {
                key: health
                for key, health in self._rows.items()
                if target_group_arn is None or key[0] == target_group_arn
            }

    def registered(self, target_group: Any, target_id: str, port: int) -> None:
        """Start a newly registered target as `initial` (or `unused` without a load balancer)."""
        if target_group.load_balancer_arns:
            health = Health.of("initial", REGISTRATION)
        else:
            health = Health.of("unused", NOT_IN_USE)
        self.set(target_group.arn, target_id, port, health)
        self._changed()

    def deregistered(self, target_group: Any, target_id: str, port: int) -> None:
        """Drain a deregistered target for the target group's deregistration delay."""
        delay = float(target_group.attributes.get(DELAY_KEY, DEFAULT_DELAY))
        until = self.clock.now() + self.clock.seconds(delay)
        drain = replace(Health.of("draining", DEREGISTERING), drain_until=until)
        self.set(target_group.arn, target_id, port, drain)
        self._changed()

    def _changed(self) -> None:
        notify = self.on_change
        if notify is not None:
            with contextlib.suppress(RuntimeError):  # the data plane's loop just closed
                notify()

    def expire_drains(self) -> list[Key]:
        """Forget every target whose draining is over; return their keys."""
        now = self.clock.now()
        with self._lock:
            done = [
                key
                for key, health in self._rows.items()
                if health.state == "draining" and (health.drain_until or 0) <= now
            ]
            for key in done:
                del self._rows[key]
                self.history.append((now, key, "unused", "Target.NotRegistered"))
        return done


# ---- the moto extension ------------------------------------------------------------------

_TABLES: list[HealthTable] = []
_ORIGINALS: dict[str, Callable[..., Any]] = {}
_LOCK = threading.Lock()


def _table_for(target_group_arn: str) -> HealthTable | None:
    return next((t for t in _TABLES if t.manages(target_group_arn)), None)


def target_key(target_id: str, port: int) -> str:
    """Return the key of a target in moto's `targets` dict while the extension is installed."""
    return f"{target_id}:{int(port)}"


def _port_of(group: Any, target: dict[str, Any]) -> int:
    """Return the target's port: given, else the one it was registered on, else the group's."""
    if target.get("Port") is not None:
        return int(target["Port"])
    ports = [t["Port"] for t in group.targets.values() if t["Id"] == target["Id"]]
    return int(ports[0]) if len(ports) == 1 else int(group.port)


def _register(self: Any, targets: list[dict[str, Any]]) -> None:
    table = _table_for(self.arn)
    if table is None:
        return _ORIGINALS["register"](self, targets)
    for target in targets:
        instance = self.ec2_backend.get_instance_by_id(target["Id"])
        if instance is not None and instance.state != "running":
            raise elbv2_models.TargetNotRunning(instance_id=target["Id"])
        port = int(target.get("Port") or self.port)
        key = target_key(target["Id"], port)
        self.targets[key] = {"Id": target["Id"], "Port": port}
        self.deregistered_targets.pop(key, None)
        table.registered(self, target["Id"], port)
    return None


def _deregister(self: Any, targets: list[dict[str, Any]]) -> None:
    table = _table_for(self.arn)
    if table is None:
        return _ORIGINALS["deregister"](self, targets)
    for target in targets:
        port = _port_of(self, target)
        key = target_key(target["Id"], port)
        found = self.targets.pop(key, None)
        if not found:
            raise InvalidTargetError()
        self.deregistered_targets[key] = found
        table.deregistered(self, target["Id"], port)
    return None


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    table = _table_for(self.arn)
    if table is None:
        return _ORIGINALS["health_for"](self, target, ec2_backend)
    port = _port_of(self, target)
    health = table.get(self.arn, target["Id"], port)
    if health is None and target_key(target["Id"], port) in self.targets:
        health = Health.of("initial", REGISTRATION)  # registered a moment before it was seen
    if health is None:
        health = Health(
            "unused", "Target.NotRegistered", "Target is not registered to the target group"
        )
    check_port = str(port) if self.health_check_port == "traffic-port" else self.health_check_port
    return elbv2_models.FakeHealthStatus(
        target["Id"], port, check_port, health.state, health.reason, health.description
    )


def _describe_target_health(
    self: Any, target_group_arn: str, targets: list[dict[str, Any]]
) -> list[Any]:
    group = self.target_groups.get(target_group_arn)
    table = _table_for(target_group_arn)
    if group is None or table is None or targets:
        return _ORIGINALS["describe_target_health"](self, target_group_arn, targets)
    # AWS lists draining targets too; moto has already dropped them from `targets`.
    draining = [
        {"Id": target_id, "Port": port}
        for (_, target_id, port), health in table.rows(target_group_arn).items()
        if health.state == "draining" and target_key(target_id, port) not in group.targets
    ]
    listed = list(group.targets.values()) + draining
    return [group.health_for(target, self.ec2_backend) for target in listed]


_PATCHES = {
    "register": (elbv2_models.FakeTargetGroup, _register),
    "deregister": (elbv2_models.FakeTargetGroup, _deregister),
    "health_for": (elbv2_models.FakeTargetGroup, _health_for),
    "describe_target_health": (elbv2_models.ELBv2Backend, _describe_target_health),
}


def install(table: HealthTable) -> None:
    """Make moto's ELBv2 models answer target health from `table` for its account and region."""
    with _LOCK:
        if not _TABLES:
            for name, (cls, patched) in _PATCHES.items():
                _ORIGINALS[name] = getattr(cls, name)
                setattr(cls, name, patched)
        _TABLES.append(table)
        _rekey(table, target_key)


def uninstall(table: HealthTable) -> None:
    """Give `table`'s account and region back to moto's own answers (idempotent)."""
    with _LOCK:
        if table not in _TABLES:
            return
        _TABLES.remove(table)
        _rekey(table, lambda target_id, _port: target_id)
        if not _TABLES:
            for name, (cls, _) in _PATCHES.items():
                setattr(cls, name, _ORIGINALS.pop(name))


def installed() -> bool:
    """Say whether any data plane's table is serving target health."""
    return bool(_TABLES)


def elbv2_backend(account_id: str, region: str) -> Any:
    """Return moto's in-process ELBv2 backend of one account and region."""
    return elbv2_models.elbv2_backends[account_id][region]


def _rekey(table: HealthTable, key: Callable[[str, int], str]) -> None:
    """Re-key moto's target dicts of `table`'s account and region (by id+port, or by id)."""
    backend = elbv2_backend(table.account_id, table.region)
    for group in list(backend.target_groups.values()):
        for attr in ("targets", "deregistered_targets"):
            old = getattr(group, attr)
            setattr(group, attr, OrderedDict((key(t["Id"], t["Port"]), t) for t in old.values()))
