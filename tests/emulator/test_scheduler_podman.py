"""The service scheduler with real containers (podman mode): deploy, scale, kill -9, roll, fail."""

from __future__ import annotations

import itertools
import secrets
import subprocess
from typing import ClassVar

import pytest

from bench._plane_lab import podman_revisions
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources.ecr import record_image
from emulator.engine import PODMAN
from emulator.tasks import TaskRunner
from tests.emulator.conftest import (
    CLOCK,
    Svc,
    kill_and_replace,
    revision,
    roll_under_load,
    trip_the_breaker,
)
from tests.emulator.test_tasks import (
    ENGINE_LIMIT,
    _podman_has,
    check_cannot_pull,
    run_task,
    stopped,
)

BUILT = f"localhost/{DEFAULT_NAMES.repository}:test"  # the image tests/container builds
HEALTHY = {"State": "healthy"}
# The failing deploy's grace period (AWS s): each of its 3 tasks lives at least this long (ELB
# checks are ignored till then). It needs none to fail (grace 0 trips the breaker as well); 1 s
# lets its 404 server answer before the task is judged, so the reason is the 404 it serves.
FAILING_GRACE = 10

pytestmark = [
    pytest.mark.needs("podman", "slirp4netns"),
    pytest.mark.xdist_group("container"),  # shares podman's storage and the built image
]


class PodmanSvc(Svc):
    """A service whose tasks are podman containers: each CLI call can take seconds under load."""

    wait_limit: ClassVar[float] = ENGINE_LIMIT
    # A container's start under make test's load can outlast GRACE; a healthy task never waits
    # for the grace period, so a long one costs nothing here (the failing deploy lowers it).
    grace: ClassVar[int] = 300

    def task_of(self, request_id: str) -> str | None:
        """Return the running task whose container's log (`podman logs`) shows `request_id`."""
        arns = self.runner.task_arns(running_only=True)
        ecs = self.ctx.client("ecs")
        for task in ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []:
            name = task["containers"][0]["runtimeId"].removeprefix(f"{PODMAN}:")
            logs = subprocess.run(
                ["podman", "logs", name],
                capture_output=True, text=True, timeout=ENGINE_LIMIT, check=False,
            )  # fmt: skip
            if request_id in logs.stdout + logs.stderr:
                return task["taskArn"]
        return None


@pytest.fixture(scope="module")
def revisions_in_podman() -> None:
    """Put rev1 and rev2 in podman's store: the built image, each reporting its own revision."""
    if not _podman_has(BUILT):
        pytest.skip(f"{BUILT} is not built (tests/container builds it first)")
    podman_revisions(BUILT)  # the tags the `images` fixture records in ECR


def _kill(runtime_id: str) -> None:
    name = runtime_id.removeprefix(f"{PODMAN}:")
    subprocess.run(
        ["podman", "kill", "--signal", "KILL", name],
        check=True, capture_output=True, timeout=ENGINE_LIMIT,
    )  # fmt: skip


def test_podman_tasks_serve_through_the_alb_scale_to_two_that_alternate_and_are_replaced(
    service, revisions_in_podman
):
    svc = service(mode=PODMAN, kind=PodmanSvc)
    svc.stable()
    first = svc.runner.task_arns(running_only=True)[0]
    assert svc.alb.health() == {svc.runner.host_port(first): HEALTHY}
    status, body = svc.get()
    assert (status, body["commit"]) == (200, "rev1")  # the container answers via the ALB's port
    ecs = svc.ctx.client("ecs")
    container = ecs.describe_tasks(cluster=svc.cluster, tasks=[first])["tasks"][0]["containers"][0]
    assert container["runtimeId"].startswith(f"{PODMAN}:")

    # Scale to two: both containers healthy in the target group, the ALB alternating.
    svc.update(desiredCount=2)
    svc.stable(count=2)
    two = svc.runner.task_arns(running_only=True)
    svc.wait(
        lambda _: svc.alb.health() == {svc.runner.host_port(a): HEALTHY for a in two},
        "2 healthy",
    )
    probes = [f"probe-{secrets.token_hex(4)}-{i}" for i in range(6)]
    assert [svc.get(request_id=p)[0] for p in probes] == [200] * len(probes)
    owners = [svc.owner(p) for p in probes]  # the container whose own log shows the request
    assert sorted(set(owners)) == sorted(two)
    assert all(a != b for a, b in itertools.pairwise(owners))  # round robin

    # kill -9 of one task's container: ECS stops the task, names the exit, and replaces it.
    old = owners[0]
    kill_and_replace(svc, old, _kill)
    assert svc.runner.wait_status(old, "STOPPED", ENGINE_LIMIT) == "STOPPED"  # after its drain
    task = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]
    assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 137  # 128 + SIGKILL, as podman reports it
    now = svc.runner.task_arns(running_only=True)
    new = (set(now) - set(two)).pop()
    assert f"(service {svc.name}) has started 1 tasks: (task {new.rsplit('/', 1)[-1]})." in (
        svc.messages()
    )
    svc.wait(
        lambda _: svc.alb.health() == {svc.runner.host_port(a): HEALTHY for a in now},
        "the replacement healthy in the target group, the killed task's target gone",
    )
    assert svc.get() == (200, {**body, "commit": "rev1"})


def test_a_podman_rolling_update_serves_the_new_revision_and_fails_no_request(
    service, revisions_in_podman
):
    svc = service(mode=PODMAN, kind=PodmanSvc)
    svc.stable()
    codes, commits, during = roll_under_load(svc, "rev2")
    assert [d["status"] for d in during["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert codes and [c for c in codes if not 200 <= c < 300] == []
    assert commits[0] == "rev1" and commits[-1] == "rev2"  # the two images tell apart
    assert svc.describe()["deployments"][0]["failedTasks"] == 0


def test_a_podman_task_of_a_tag_podman_cannot_pull_stops_with_cannot_pull_container_error(
    network, images, revisions_in_podman
):
    ctx = network[0]
    ctx.client("ecs").create_cluster(clusterName=DEFAULT_NAMES.cluster)
    record_image(ctx, DEFAULT_NAMES, "never-built")
    # tag -> in podman's store: in neither; in ECR only; in the store only (built, never pushed)
    in_store = {"not-pushed": False, "never-built": False, BUILT.rsplit(":", 1)[1]: True}
    runner = TaskRunner(mode=PODMAN, clock=CLOCK, poll_s=0.05).start()
    try:
        arns = {
            tag: run_task(ctx, images, revision(ctx, images, tag, checked=False))
            for tag in in_store
        }
        for tag, arn in arns.items():
            assert _podman_has(f"localhost/{DEFAULT_NAMES.repository}:{tag}") is in_store[tag]
            image = f"{images['repository']}:{tag}"
            check_cannot_pull(stopped(ctx, arn, ENGINE_LIMIT), image, runner.history(arn))
    finally:
        runner.stop()


def test_a_podman_revision_failing_elb_health_checks_trips_the_breaker_and_rolls_back(
    service, revisions_in_podman
):
    svc = service(bad=True, mode=PODMAN, kind=PodmanSvc)  # bad: rev2's image answering 404
    svc.stable()
    trip_the_breaker(svc, grace=FAILING_GRACE)
