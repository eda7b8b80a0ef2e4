"""The ALB's health checker: probe each registered target as its target group says, judge it.

Each registered target gets its own probe loop, started as soon as it is registered
(registration comes first, health checks follow). The rules are the ones notes/alb.md
teaches (errata 3): a newly registered target turns `healthy` after one passing check; a
healthy target turns `unhealthy` after UnhealthyThresholdCount consecutive failures, and an
unhealthy one needs HealthyThresholdCount consecutive passes to come back. A new target that
keeps failing turns `unhealthy` after UnhealthyThresholdCount failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

from emulator import targets
from emulator.clock import Clock
from emulator.targets import Health, HealthTable

USER_AGENT = "ELB-HealthChecker/2.0"
log = logging.getLogger(__name__)
_CODES = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")


@dataclass(frozen=True)
class Matcher:
    """The HTTP codes a target group accepts as healthy ("200", "200-299", "200,302")."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, http_code: str) -> Matcher:
        """Parse a Matcher.HttpCode value; raise ValueError naming a malformed one."""
        text = http_code.replace(" ", "")
        if not _CODES.match(text):
            raise ValueError(
                f"health-check matcher {http_code!r} is not a code, a range (200-299) "
                "or a comma-separated list of them (200,302)"
            )
        ranges = []
        for part in text.split(","):
            low, _, high = part.partition("-")
            if int(high or low) < int(low):
                raise ValueError(f"health-check matcher range {part!r} runs backwards")
            ranges.append((int(low), int(high or low)))
        return cls(tuple(ranges))

    def matches(self, code: int) -> bool:
        """Say whether `code` counts as a passing health check."""
        return any(low <= code <= high for low, high in self.ranges)


@dataclass(frozen=True)
class CheckSettings:
    """A target group's health-check settings, read from moto's model."""

    path: str
    port: str  # "traffic-port" or a number
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: Matcher
    enabled: bool = True

    @classmethod
    def of(cls, group: Any) -> CheckSettings:
        """Return the settings of moto's FakeTargetGroup `group` (AWS's defaults where unset)."""
        return cls(
            path=group.health_check_path or "/",
            port=str(group.health_check_port or "traffic-port"),
            interval=float(group.health_check_interval_seconds or 30),
            timeout=float(group.health_check_timeout_seconds or 5),
            healthy_threshold=int(group.healthy_threshold_count or 5),
            unhealthy_threshold=int(group.unhealthy_threshold_count or 2),
            matcher=Matcher.parse(str((group.matcher or {}).get("HttpCode", "200"))),
            enabled=bool(group.health_check_enabled),
        )

    def url(self, target_id: str, port: int) -> str:
        """Return the URL a probe of target `target_id`:`port` requests."""
        check_port = port if self.port == "traffic-port" else int(self.port)
        path = self.path if self.path.startswith("/") else "/" + self.path
        return f"http://{target_id}:{check_port}{path}"


@dataclass(frozen=True)
class Outcome:
    """One probe's result: passed, or the reason code (and the code it got) it failed with."""

    passed: bool
    reason: str | None = None
    code: int | None = None

    def health(self) -> Health:
        """Return the `unhealthy` health this failure reports."""
        return Health.of("unhealthy", self.reason, codes=self.code)


async def probe(client: httpx.AsyncClient, url: str, timeout: float) -> Outcome:
    """GET `url` as the ALB's checker does; classify the answer."""
    try:
        request = httpx.Request(  # only Host and User-Agent, as the ALB's checker sends
            "GET",
            url,
            headers={"User-Agent": USER_AGENT},
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )
        response = await client.send(request)
    except httpx.TimeoutException:
        return Outcome(False, targets.TIMEOUT)
    except httpx.HTTPError:  # refused, reset, not HTTP
        return Outcome(False, targets.FAILED)
    return Outcome(True, code=response.status_code)


class Judge:
    """One target's consecutive passes and failures, and the state they lead to."""

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings
        self.state = "initial"
        self.passes = self.failures = 0
        self.last_failure = Outcome(False, targets.FAILED)

    def record(self, outcome: Outcome) -> Health:
        """Count `outcome` and return the target's health after it."""
        if outcome.passed:
            self.passes, self.failures = self.passes + 1, 0
            needed = 1 if self.state == "initial" else self.settings.healthy_threshold
            if self.passes >= needed:
                self.state = "healthy"
        else:
            self.passes, self.failures = 0, self.failures + 1
            self.last_failure = outcome
            if self.failures >= self.settings.unhealthy_threshold:
                self.state = "unhealthy"
        if self.state == "healthy":
            return Health.of("healthy")
        if self.state == "unhealthy":
            return self.last_failure.health()
        return Health.of("initial", targets.INITIAL_CHECKS)


def judge_code(outcome: Outcome, matcher: Matcher) -> Outcome:
    """Turn an answered probe into a pass, or a ResponseCodeMismatch failure."""
    if not outcome.passed or matcher.matches(outcome.code or 0):
        return outcome
    return Outcome(False, targets.CODE_MISMATCH, outcome.code)


class HealthChecker:
    """Probe every registered target of the table's account and region; write the results."""

    def __init__(self, table: HealthTable, clock: Clock) -> None:
        self.table = table
        self.clock = clock
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_keepalive_connections=0),  # a new connection per probe
            follow_redirects=False,
            trust_env=False,
        )
        self._loops: dict[tuple[str, str, int], asyncio.Task] = {}

    def reconcile(self) -> None:
        """Start probing newly registered targets, stop probing gone ones, end drains."""
        self.table.expire_drains()
        backend = targets.elbv2_backend(self.table.account_id, self.table.region)
        wanted = set()
        groups = {
            arn: g for arn, g in list(backend.target_groups.items()) if self.table.manages(arn)
        }
        for arn, group in groups.items():
            for target in list(group.targets.values()):
                key = (arn, target["Id"], int(target["Port"]))
                wanted.add(key)
                if self.table.get(*key) is None:
                    self.table.registered(group, target["Id"], int(target["Port"]))
                if key not in self._loops:
                    self._loops[key] = asyncio.create_task(self._watch(group, *key[1:]))
        for key in set(self._loops) - wanted:
            self._loops.pop(key).cancel()
        for key, health in self.table.rows().items():
            if key[0] not in groups or (health.state != "draining" and key not in wanted):
                self.table.remove(*key)  # its target group was deleted (or moto was reset)

    async def _watch(self, group: Any, target_id: str, port: int) -> None:
        """Probe one target every interval while it stays registered."""
        judge: Judge | None = None
        while True:
            started = self.clock.now()
            interval = float(group.health_check_interval_seconds or 30)
            try:
                judge = await self._check(group, target_id, port, judge)
            except Exception:  # a setting the checker cannot follow: say so, keep going
                log.exception("health check of %s:%s failed", target_id, port)
            # Probes start one interval apart, however long each took to answer.
            await asyncio.sleep(max(0.0, started + self.clock.seconds(interval) - self.clock.now()))

    async def _check(
        self, group: Any, target_id: str, port: int, judge: Judge | None
    ) -> Judge | None:
        """Probe the target once (if it is checked at all); return the judge to keep."""
        settings = CheckSettings.of(group)  # re-read: modify-target-group applies at once
        if not group.load_balancer_arns:
            self.table.set(group.arn, target_id, port, Health.of("unused", targets.NOT_IN_USE))
            return None
        if not settings.enabled:
            health = Health.of("unavailable", targets.CHECKS_DISABLED)
            self.table.set(group.arn, target_id, port, health)
            return None
        current = self.table.get(group.arn, target_id, port)
        if judge is None or (current is not None and current.reason == targets.REGISTRATION):
            judge = Judge(settings)  # (re-)registered: a new target again
        judge.settings = settings
        url = settings.url(target_id, port)
        outcome = await probe(self._client, url, self.clock.seconds(settings.timeout))
        health = judge.record(judge_code(outcome, settings.matcher))
        current = self.table.get(group.arn, target_id, port)
        if current is not None and current.state != "draining":  # still registered
            self.table.set(group.arn, target_id, port, health)
        return judge

    async def aclose(self) -> None:
        """Stop every probe loop and close the checker's connections."""
        loops = list(self._loops.values())
        self._loops.clear()
        for loop in loops:
            loop.cancel()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
        await self._client.aclose()
