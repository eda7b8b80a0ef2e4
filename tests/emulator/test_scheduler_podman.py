"""The service scheduler with real containers (podman mode): a deploy, a kill -9, a rolling update."""

from __future__ import annotations

import subprocess
from typing import ClassVar

import pytest

from bench._plane_lab import podman_revisions
from deploy.aws.names import DEFAULT_NAMES
from emulator.engine import PODMAN
from tests.emulator.conftest import Svc, roll_under_load
from tests.emulator.test_tasks import ENGINE_LIMIT, _podman_has

BUILT = f"localhost/{DEFAULT_NAMES.repository}:test"  # the image tests/container builds

pytestmark = [
    pytest.mark.needs("podman", "slirp4netns"),
    pytest.mark.xdist_group("container"),  # shares podman's storage and the built image
]


class PodmanSvc(Svc):
    """A service whose tasks are podman containers: each CLI call can take seconds under load."""

    wait_limit: ClassVar[float] = ENGINE_LIMIT
    # A container's start under make test's load can outlast GRACE; a healthy task never waits
    # for the grace period, so a long one costs nothing here (no revision of this module fails).
    grace: ClassVar[int] = 300


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


def test_a_podman_task_serves_through_the_alb_and_a_killed_container_is_replaced(
    service, revisions_in_podman
):
    svc = service(mode=PODMAN, kind=PodmanSvc)
    svc.stable()
    old = svc.runner.task_arns(running_only=True)[0]
    assert svc.alb.health() == {svc.runner.host_port(old): {"State": "healthy"}}
    status, body = svc.get()
    assert (status, body["commit"]) == (200, "rev1")  # the container answers via the ALB's port
    ecs = svc.ctx.client("ecs")
    container = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]["containers"][0]
    assert container["runtimeId"].startswith(f"{PODMAN}:")

    # kill -9 of the task's container: ECS stops the task, names the exit, and replaces it.
    _kill(container["runtimeId"])
    svc.wait(
        lambda s: (
            s["runningCount"] == 1
            and old not in svc.runner.task_arns(running_only=True)
            and s["deployments"][0]["failedTasks"] == 1
        ),
        "a replacement task",
    )
    assert svc.runner.wait_status(old, "STOPPED", ENGINE_LIMIT) == "STOPPED"  # after its drain
    task = ecs.describe_tasks(cluster=svc.cluster, tasks=[old])["tasks"][0]
    assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 137  # 128 + SIGKILL, as podman reports it
    new = svc.runner.task_arns(running_only=True)[0]
    assert f"(service {svc.name}) has started 1 tasks: (task {new.rsplit('/', 1)[-1]})." in (
        svc.messages()
    )
    svc.wait(
        lambda _: svc.alb.health() == {svc.runner.host_port(new): {"State": "healthy"}},
        "the replacement healthy in the target group",
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
