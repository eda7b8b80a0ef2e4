"""The standalone moto server (`workbook stack emulator`) serves the workbook's moto extensions."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.ecs.models import EC2ContainerServiceBackend as Ecs

from deploy.models import policies
from emulator import moto_server, scaling_activities
from emulator.moto_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, MotoServer

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter: nothing else in it (no data plane, no earlier test) installed anything.
SERVE = (
    "import sys\n"
    "from emulator.moto_server import MotoServer\n"
    "server = MotoServer()\n"
    "print(server.endpoint_url, flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)
TRUST = policies.ecs_tasks_trust("123456789012", "us-east-1")  # the package's own


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """Run a MotoServer alone in its own process on a free 127.0.0.1 port; return its URL."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _client(endpoint: str, service: str):
    """A plain boto3 client with no retries: a 500 shows at once instead of being retried."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}),
    )


def test_describe_scaling_activities_is_served(endpoint):
    aas = _client(endpoint, "application-autoscaling")
    found = aas.describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId="service/llmopscluster/llmops-service-2"
    )
    assert found["ScalingActivities"] == []  # answered (moto alone: HTTP 500), nothing scaled
    with pytest.raises(ClientError, match="maxResults"):  # bad input: AWS's validation error
        aas.describe_scaling_activities(ServiceNamespace="ecs", MaxResults=0)


def test_fargate_sizes_are_checked_at_registration(endpoint):
    with pytest.raises(ClientError, match="No Fargate configuration exists") as caught:
        _client(endpoint, "ecs").register_task_definition(
            family="sized",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="8192",
            containerDefinitions=[{"name": "app", "image": "nginx"}],
        )
    assert caught.value.response["Error"]["Code"] == "ClientException"


def test_run_task_without_security_groups_starts(endpoint):
    ec2, ecs = _client(endpoint, "ec2"), _client(endpoint, "ecs")
    subnet = ec2.describe_subnets()["Subnets"][0]
    ecs.create_cluster(clusterName="ext")
    ecs.register_task_definition(
        family="plain",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "nginx"}],  # memory left to the task
    )
    started = ecs.run_task(
        cluster="ext",
        taskDefinition="plain",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet["SubnetId"]]}},
    )
    assert started["failures"] == [] and len(started["tasks"]) == 1


def test_simulate_principal_policy_answers_for_a_role(endpoint):
    iam = _client(endpoint, "iam")
    arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:PutObject"]
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]


def test_a_second_server_installs_nothing_twice():
    first = MotoServer()
    try:
        hooked = (Ecs.run_task, Ecs.register_task_definition, Ecs.stop_task)
        second = MotoServer()
        second.stop()
        assert (Ecs.run_task, Ecs.register_task_definition, Ecs.stop_task) == hooked
        assert Ecs.run_task.__name__ == "run_task_hook"  # wrapped once, not wrapped again
        served = ApplicationAutoScalingResponse.describe_scaling_activities
        assert served is scaling_activities._describe_scaling_activities
    finally:
        first.stop()


def test_managed_policies_are_the_objects_motos_constructor_makes():
    from moto.iam import models

    MotoServer().stop()  # installs the extensions in this process
    for partition in ("aws", "aws-cn"):
        backend = models.IAMBackend(partition, "123456789012")
        assert len(backend.managed_policies) > 1000  # the AmazonECS... policies among them
        for ours in backend.aws_managed_policies:
            theirs = models.AWSManagedPolicy(
                ours.name, account_id="123456789012", region=partition,
                default_version_id=ours.default_version_id, path=ours.path,
                document=ours.versions[0].document, create_date=ours.create_date,
                update_date=ours.update_date,
            )  # fmt: skip
            assert {**vars(ours), "id": None, "versions": None} == {
                **vars(theirs),
                "id": None,
                "versions": None,
            }
            assert [vars(v) for v in ours.versions] == [vars(v) for v in theirs.versions]
    again = models.IAMBackend("aws", "123456789012").managed_policies
    assert again is not backend.managed_policies  # each backend its own (attachments count)
    arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    assert again[arn] is not models.IAMBackend("aws", "123456789012").managed_policies[arn]


def test_an_access_key_finds_its_account_without_making_other_partitions(endpoint):
    from moto.iam import models

    iam = _client(endpoint, "iam")
    iam.create_user(UserName="ci")
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    as_user = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
    )  # fmt: skip
    assert as_user.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/ci"
    server = MotoServer()  # the same lookup, in this process, where its backends can be seen
    try:
        moto_server.reset(server.endpoint_url)
        ecs = _client(server.endpoint_url, "ecs")
        for _ in range(3):  # any request: each looks its access key up
            ecs.list_clusters()
        made = {p for account in models.iam_backends.values() for p in account}
        assert made == {"aws"}  # not aws-cn, aws-us-gov, ... after every reset
    finally:
        server.stop()
