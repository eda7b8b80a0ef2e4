"""The service scheduler: services keep their tasks, roll, trip the circuit breaker (process mode)."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import threading

from emulator.scheduler import ServiceScheduler
from tests.emulator.conftest import kill_and_replace, roll_under_load, trip_the_breaker


def test_a_service_runs_behind_the_alb_scales_to_two_that_alternate_and_replaces_a_killed_task(
    service,
):
    svc = service()
    stable = svc.stable()
    task_arn = svc.runner.task_arns(running_only=True)[0]
    port = svc.runner.host_port(task_arn)
    assert svc.alb.health() == {port: {"State": "healthy"}}
    status, body = svc.get()
    assert (status, body["commit"]) == (200, "rev1")  # served by the task, via the ALB's port
    task = svc.ctx.client("ecs").describe_tasks(cluster=svc.cluster, tasks=[task_arn])["tasks"][0]
    assert (task["group"], task["startedBy"]) == (
        f"service:{svc.name}",
        stable["deployments"][0]["id"],
    )
    task_id = task_arn.rsplit("/", 1)[-1]
    events = svc.messages()
    assert events[0] == f"(service {svc.name}) has reached a steady state."
    assert f"(service {svc.name}) has started 1 tasks: (task {task_id})." in events
    assert (
        f"(service {svc.name}) registered 1 targets in (target-group {svc.alb.target_group_arn})"
        in events
    )
    # `aws ecs wait services-stable` returns because the service is stable.
    svc.ctx.client("ecs").get_waiter("services_stable").wait(
        cluster=svc.cluster, services=[svc.name], WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )

    svc.update(desiredCount=2)
    svc.stable(count=2)
    svc.wait(
        lambda _: [h["State"] for h in svc.alb.health().values()] == ["healthy"] * 2, "2 healthy"
    )
    owners = []
    for i in range(6):
        request_id = f"probe-{secrets.token_hex(4)}-{i}"
        assert svc.get(request_id=request_id)[0] == 200
        owners.append(svc.owner(request_id))
    assert len(set(owners)) == 2
    assert all(a != b for a, b in itertools.pairwise(owners))  # round robin

    # kill -9 of one task's process: ECS-style replacement, the stopped reason names the exit.
    ecs = svc.ctx.client("ecs")
    old = owners[0]
    kill_and_replace(svc, old, lambda runtime: os.kill(int(runtime.split(":")[1]), signal.SIGKILL))
    task = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 137  # 128 + SIGKILL
    new = (set(svc.runner.task_arns(running_only=True)) - set(owners)).pop().rsplit("/", 1)[-1]
    assert f"(service {svc.name}) has started 1 tasks: (task {new})." in svc.messages()


def test_a_rolling_update_100_200_fails_no_request(service):
    svc = service()
    svc.stable()
    codes, commits, during = roll_under_load(svc, "rev2")
    assert [d["status"] for d in during["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert during["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert codes and [c for c in codes if not 200 <= c < 300] == []
    assert commits[0] == "rev1" and commits[-1] == "rev2"
    assert svc.describe()["deployments"][0]["failedTasks"] == 0


def test_a_revision_failing_elb_health_checks_trips_the_breaker_and_rolls_back(service):
    svc = service(bad=True)
    svc.stable()
    trip_the_breaker(svc)


def test_settings_that_leave_no_room_are_named_and_force_new_deployment_makes_a_primary(service):
    svc = service(minimumHealthyPercent=100, maximumPercent=100)
    event = svc.wait(
        lambda s: any("cannot deploy" in e["message"] for e in s["events"]), "the event"
    )["events"][0]["message"]
    assert "minimumHealthyPercent 100 and maximumPercent 100 leave no room" in event
    assert svc.describe()["runningCount"] == 0
    # force-new-deployment: a new PRIMARY deployment of the same revision; the old turns ACTIVE.
    first = svc.describe()["deployments"][0]
    svc.update(forceNewDeployment=True)
    deployments = svc.describe()["deployments"]
    assert [(d["status"], d["taskDefinition"]) for d in deployments] == [
        ("PRIMARY", svc.revisions["rev1"]),
        ("ACTIVE", svc.revisions["rev1"]),
    ]
    assert deployments[1]["id"] == first["id"] != deployments[0]["id"]
    assert deployments[0]["rolloutState"] == "IN_PROGRESS"


def test_describe_services_waits_for_the_scheduler_pass_in_progress(service):
    # A pass counts a stopped task's failure, then starts its replacement, then writes the
    # counts: a read halfway would show the failure with the old runningCount.
    svc = service()
    svc.stable()
    scheduler = next(p for p in svc.plane.parts if isinstance(p, ServiceScheduler))
    read = threading.Event()
    with scheduler.lock:
        reader = threading.Thread(target=lambda: (svc.describe(), read.set()))
        reader.start()
        assert not read.wait(0.5)  # held off while the pass runs
    assert read.wait(10)
    reader.join()
