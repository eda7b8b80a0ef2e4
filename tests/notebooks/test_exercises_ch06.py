"""Chapter 06's exercises check themselves: typical network mistakes are named, solutions pass."""

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.resources import network
from workbook import compare, exercises
from workbook.solutions import ch06 as solved

TAGS = [{"ResourceType": "security-group", "Tags": names.tag_list()}]


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 06 with the given context."""
    exercise = exercises.exercises_of("06")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _alb_group(ctx) -> tuple[str, str]:
    """Create the reference ALB group by hand; return the default VPC and the group's id."""
    vpc = network.find_default_vpc(ctx)
    ec2 = ctx.client("ec2")
    gid = ec2.create_security_group(
        GroupName=names.alb_security_group, Description="alb", VpcId=vpc, TagSpecifications=TAGS
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            }
        ],
    )
    return vpc, gid


def _task_group_context(ctx) -> dict:
    vpc, alb = _alb_group(ctx)
    return {"ctx": ctx, "client": ctx.client("ec2"), "vpc_id": vpc, "alb_group_id": alb}


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("06")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


# ---- 06-1: the task security group (moto) ------------------------------------------------------


def test_task_group_open_to_the_internet_on_8080_is_named(ctx):
    """A CIDR rule in place of the ALB's group: the extra rule and the missing one, and why."""

    def create_task_group(client, vpc_id, alb_group_id):
        gid = client.create_security_group(
            GroupName="llmops-task-sg", Description="t", VpcId=vpc_id, TagSpecifications=TAGS
        )["GroupId"]
        client.authorize_security_group_ingress(
            GroupId=gid, IpProtocol="tcp", FromPort=8080, ToPort=8080, CidrIp="0.0.0.0/0"
        )

    outcome = _check("06-1", create_task_group, **_task_group_context(ctx))
    text = "\n".join(outcome.messages)
    assert outcome.status == "to fix"
    assert "task security group admits 0.0.0.0/0 on 8080: should admit only the ALB's group" in text
    assert "does not admit tcp 8080 from the ALB's group sg-" in text
    assert "ECS keeps replacing the tasks" in text


def test_task_group_on_the_wrong_port_without_tags_is_named(ctx):
    """Port 80 from the ALB group, no tag: the port, the missing 8080 and the tags are named."""

    def create_task_group(client, vpc_id, alb_group_id):
        gid = client.create_security_group(
            GroupName="llmops-task-sg", Description="t", VpcId=vpc_id
        )["GroupId"]
        client.authorize_security_group_ingress(
            GroupId=gid,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 80,
                    "ToPort": 80,
                    "UserIdGroupPairs": [{"GroupId": alb_group_id}],
                }
            ],
        )

    outcome = _check("06-1", create_task_group, **_task_group_context(ctx))
    text = "\n".join(outcome.messages)
    assert "task security group admits tcp 80 from group sg-" in text
    assert "the container listens on 8080 only" in text
    assert "does not admit tcp 8080" in text
    assert "tags are {}" in text


def test_a_misnamed_task_group_is_not_done(ctx):
    """A group under another name: 'not done yet', naming the group the check looks for."""

    def create_task_group(client, vpc_id, alb_group_id):
        client.create_security_group(GroupName="llmops-ecs-sg", Description="t", VpcId=vpc_id)

    outcome = _check("06-1", create_task_group, **_task_group_context(ctx))
    assert outcome.status == "not done"
    assert "no group named llmops-task-sg" in outcome.messages[0]


def test_alb_group_with_443_and_no_ipv6_is_named(ctx):
    """The reference comparison explains the ALB group's extra 443 and missing ::/0."""
    vpc = network.find_default_vpc(ctx)
    ec2 = ctx.client("ec2")
    gid = ec2.create_security_group(
        GroupName=names.alb_security_group, Description="a", VpcId=vpc, TagSpecifications=TAGS
    )["GroupId"]
    for port in (80, 443):
        ec2.authorize_security_group_ingress(
            GroupId=gid, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0"
        )
    text = str(compare.against_reference(ctx, names, {"network": [names.alb_security_group]}))
    assert "ALB security group admits 443 from 0.0.0.0/0: nothing listens there" in text
    assert "does not admit tcp 80 from ::/0: IPv6 clients" in text


def test_task_group_solution_passes_twice_and_matches(ctx, capsys):
    """With solutions injected 06-1 passes, a re-run too (its reset), and plan shows 0 changes."""
    context = _task_group_context(ctx)
    work = exercises.chapter("06", solutions=True, ctx=ctx, names=names)
    for _ in range(2):
        work.check("06-1", ..., **{k: v for k, v in context.items() if k != "ctx"})
    assert capsys.readouterr().out.count("✓ 06-1 passed") == 2
    found = compare.against_reference(
        ctx, names, {"network": [names.alb_security_group, names.task_security_group]}
    )
    assert found.matches, found


# ---- 06-2: the service's awsvpcConfiguration ---------------------------------------------------


def _network_context(ctx) -> tuple[dict, list[str], str, str]:
    """Make both reference groups; return the context, two subnets, the task and ALB ids."""
    out = network.ensure(ctx, names).outputs
    context = {"ctx": ctx}
    return context, list(out.subnet_ids), out.task_security_group_id, out.alb_security_group_id


def test_one_subnet_and_the_alb_group_and_no_public_ip_are_named(ctx):
    """The guide's one-subnet form, the ALB's group on tasks and DISABLED: each named."""
    context, subnets, _, alb = _network_context(ctx)
    answer = {"subnets": subnets[:1], "securityGroups": [alb], "assignPublicIp": "DISABLED"}
    outcome = _check("06-2", answer, **context)
    text = "\n".join(outcome.messages)
    assert "the service runs in one AZ" in text
    assert "securityGroups holds the ALB's group" in text
    assert "CannotPullContainerError" in text


def test_service_network_solution_and_a_bad_subnet(ctx):
    """Two subnets, the task group and ENABLED pass; an unknown subnet id is named."""
    context, subnets, task, _ = _network_context(ctx)
    assert _check("06-2", solved.service_network(subnets, task), **context).passed
    wrong = {"subnets": ["subnet-0nope"], "securityGroups": [task], "assignPublicIp": "ENABLED"}
    outcome = _check("06-2", wrong, **context)
    assert outcome.status == "to fix"
    assert "subnet-0nope" in outcome.messages[0]
    assert (
        "has no field(s) ['subnet']" in _check("06-2", {"subnet": subnets}, **context).messages[0]
    )


# ---- 06-3: a private task's path to ECR -------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({**solved.private_path(), "assignPublicIp": "ENABLED"}, "a public IP carries no traffic"),
        ({**solved.private_path(), "gateway_endpoints": []}, "no s3 gateway endpoint"),
        (
            {**solved.private_path(), "interface_endpoints": ["ecr.api", "logs", "secretsmanager"]},
            "no ecr.dkr interface endpoint",
        ),
        (
            {**solved.private_path(), "interface_endpoints": ["ecr.api", "ecr.dkr", "logs"]},
            "no secretsmanager interface endpoint",
        ),
        ({**solved.private_path(), "gateway_endpoints": ["ecr"]}, "ecr has no gateway endpoint"),
    ],
    ids=["public-ip", "no-s3", "no-dkr", "no-secrets", "bad-gateway"],
)
def test_private_path_check_names_the_missing_piece(answer, expected):
    """Each typical gap on the private path gets its own diagnosis."""
    outcome = _check("06-3", answer)
    assert outcome.status == "to fix"
    assert any(expected in m for m in outcome.messages), outcome.messages


def test_private_path_solution_and_full_service_names_pass():
    """The solution passes, written with short or full endpoint service names."""
    assert _check("06-3", solved.private_path()).passed
    full = {
        **solved.private_path(),
        "interface_endpoints": [
            f"com.amazonaws.us-east-1.{n}" for n in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
        ],
    }
    assert _check("06-3", full).passed
