"""The ALB health checker and the target states describe-target-health shows (compressed clock)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator import targets
from emulator.clock import Clock
from emulator.health import CheckSettings, Judge, Matcher, Outcome, judge_code
from tests.awscli import aws_cli
from tests.emulator.conftest import wait_for


def _state(alb, target, state):
    return lambda: alb.health().get(target.port, {}).get("State") == state


def test_a_registered_target_goes_initial_then_healthy_after_one_passing_check(
    alb, plane, make_target
):
    a = make_target("a")
    alb.register(a)
    wait_for(_state(alb, a, "healthy"), "the new target to turn healthy")
    assert plane.table.states(alb.target_group_arn, "127.0.0.1", a.port) == ["initial", "healthy"]
    probes = [s for s in a.seen if s["path"] == "/health"]
    assert probes[0]["headers"]["User-Agent"] == "ELB-HealthChecker/2.0"


def test_a_500_makes_a_target_unhealthy_and_it_needs_the_threshold_to_return(
    alb, plane, make_target
):
    a = make_target("a")
    alb.register(a)
    wait_for(_state(alb, a, "healthy"), "healthy")
    a.mode = "error"
    wait_for(_state(alb, a, "unhealthy"), "unhealthy")
    assert alb.health()[a.port] == {
        "State": "unhealthy",
        "Reason": "Target.ResponseCodeMismatch",
        "Description": "Health checks failed with these codes: [500]",
    }
    cli = aws_cli(
        alb.ctx, "elbv2", "describe-target-health", "--target-group-arn", alb.target_group_arn
    )
    (row,) = cli["TargetHealthDescriptions"]  # the AWS CLI shows what the checker measured
    assert row["Target"] == {"Id": "127.0.0.1", "Port": a.port}
    assert row["HealthCheckPort"] == str(a.port)
    assert row["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    a.mode = "ok"
    wait_for(_state(alb, a, "healthy"), "healthy again")
    states = plane.table.states(alb.target_group_arn, "127.0.0.1", a.port)
    assert states == ["initial", "healthy", "unhealthy", "healthy"]
    # It took exactly 2 failed probes to turn unhealthy, and 2 passing ones to come back.
    changed = {s: t for t, k, s, _ in plane.table.history if k[2] == a.port}
    probes = [p for p in a.seen if p["path"] == "/health"]
    assert len([p for p in probes if p["mode"] == "error" and p["at"] < changed["unhealthy"]]) == 2
    back = [p for p in probes if p["mode"] == "ok" and changed["unhealthy"] < p["at"]]
    assert len([p for p in back if p["at"] < changed["healthy"]]) == 2


def test_a_stopped_target_fails_health_checks_and_a_slow_one_times_out(alb, plane, make_target):
    stopped, slow = make_target("stopped"), make_target("slow")
    alb.register(stopped, slow)
    wait_for(_state(alb, stopped, "healthy"), "healthy")
    stopped.stop()
    slow.mode = "slow"
    wait_for(lambda: {h["State"] for h in alb.health().values()} == {"unhealthy"}, "both unhealthy")
    health = alb.health()
    assert health[stopped.port]["Reason"] == "Target.FailedHealthChecks"
    assert health[stopped.port]["Description"] == "Health checks failed"
    assert health[slow.port] == {
        "State": "unhealthy",
        "Reason": "Target.Timeout",
        "Description": "Request timed out",
    }


def test_a_deregistered_target_drains_for_the_delay_then_disappears(alb, plane, make_target):
    a, b = make_target("a"), make_target("b")  # two targets on one address: two targets
    alb.register(a, b)
    wait_for(lambda: len(alb.health()) == 2, "both targets listed")
    alb.deregister(a)
    health = alb.health()
    assert health[a.port] == {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }
    assert health[b.port]["State"] in ("initial", "healthy")
    wait_for(lambda: a.port not in alb.health(), "the drained target to disappear")
    assert b.port in alb.health()
    with pytest.raises(ClientError, match="InvalidTarget"):
        alb.deregister(a)  # no longer registered
    asked = alb.ctx.client("elbv2").describe_target_health(
        TargetGroupArn=alb.target_group_arn, Targets=[{"Id": "127.0.0.1", "Port": a.port}]
    )["TargetHealthDescriptions"][0]["TargetHealth"]
    assert asked["State"] == "unused" and asked["Reason"] == "Target.NotRegistered"


def test_a_target_group_without_a_load_balancer_is_unused(alb, plane, make_target):
    elbv2 = alb.ctx.client("elbv2")
    vpc = elbv2.describe_target_groups(TargetGroupArns=[alb.target_group_arn])["TargetGroups"][0]
    lonely = elbv2.create_target_group(
        Name="lonely", Protocol="HTTP", Port=8080, VpcId=vpc["VpcId"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    a = make_target("a")
    elbv2.register_targets(TargetGroupArn=lonely, Targets=[{"Id": "127.0.0.1", "Port": a.port}])
    health = elbv2.describe_target_health(TargetGroupArn=lonely)["TargetHealthDescriptions"]
    assert health[0]["TargetHealth"]["State"] == "unused"
    assert health[0]["TargetHealth"]["Reason"] == "Target.NotInUse"
    assert not a.seen  # nobody probes it


def test_after_stop_moto_answers_target_health_again(alb, plane, make_target):
    a = make_target("a")
    alb.register(a)
    plane.stop()
    assert not targets.installed()
    assert alb.health()[a.port]["State"] == "healthy"  # moto's own answer
    alb.deregister(a)  # moto finds it under its own key again
    assert alb.health() == {}


@pytest.mark.parametrize(
    ("code", "accepted", "refused"),
    [
        ("200", [200], [201, 500]),
        ("200-299", [200, 250, 299], [199, 300]),
        ("200,302", [200, 302], [301]),
        ("200-204, 302", [204, 302], [205]),
    ],
)
def test_matcher_accepts_codes_ranges_and_lists(code, accepted, refused):
    matcher = Matcher.parse(code)
    assert all(matcher.matches(c) for c in accepted)
    assert not any(matcher.matches(c) for c in refused)


@pytest.mark.parametrize("code", ["", "ok", "200-", "2000", "299-200", "200;302"])
def test_matcher_refuses_malformed_codes(code):
    with pytest.raises(ValueError, match="matcher"):
        Matcher.parse(code)


def _judge() -> Judge:
    return Judge(CheckSettings("/health", "traffic-port", 5, 4, 3, 2, Matcher.parse("200")))


def test_judge_follows_the_thresholds():
    judge = _judge()
    passed, failed = Outcome(True, code=200), Outcome(False, targets.TIMEOUT)
    assert judge.record(passed).state == "healthy"  # a new target: one pass is enough
    assert judge.record(failed).state == "healthy"  # one failure is below the threshold of 2
    assert judge.record(failed).state == "unhealthy"
    assert judge.record(passed).state == "unhealthy"  # the healthy threshold here is 3
    assert judge.record(passed).state == "unhealthy"
    assert judge.record(passed).state == "healthy"


def test_a_new_target_that_keeps_failing_turns_unhealthy():
    judge = _judge()
    mismatch = judge_code(Outcome(True, code=404), judge.settings.matcher)
    first = judge.record(mismatch)
    assert (first.state, first.reason) == ("initial", "Elb.InitialHealthChecking")
    assert judge.record(mismatch).description == "Health checks failed with these codes: [404]"


def test_a_clock_needs_a_positive_scale_and_says_when_it_is_compressed():
    with pytest.raises(ValueError, match="scale"):
        Clock(scale=0)
    assert Clock().label == "real time"
    assert Clock(0.1).label.startswith("compressed clock")
    assert Clock(0.1).seconds(5) == pytest.approx(0.5)
