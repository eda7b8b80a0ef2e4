"""Find the default VPC and its subnets, and keep the ALB and task security groups."""

from __future__ import annotations

from dataclasses import dataclass

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import UNKNOWN, Change, Result, missing_tags, tag_map
from deploy.resources.outputs import NetworkOutputs
from service.aws import AwsContext

KIND = "security-group"
WHICH = ("alb", "task")
ANYWHERE = ("0.0.0.0/0", "::/0")
SUBNET_COUNT = 2  # an ALB needs subnets in two AZs
HTTP, HTTPS = 80, 443


def alb_ports(https: bool) -> tuple[int, ...]:
    """Return the ports the ALB group admits: 80, plus 443 when HTTPS is on (80 then redirects)."""
    if not isinstance(https, bool):
        raise InvalidInput(f"https must be True or False, got {https!r}")
    return (HTTP, HTTPS) if https else (HTTP,)


def group_name(names: StackNames, which: str) -> str:
    """Return the name of the ALB or the task security group."""
    if which not in WHICH:
        raise InvalidInput(f"unknown security group {which!r}: choose 'alb' or 'task'")
    return names.alb_security_group if which == "alb" else names.task_security_group


@dataclass(frozen=True)
class Found:
    """The network as it is: the default VPC, its subnets by AZ and the two groups (or None)."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    groups: dict[str, dict | None]

    def group_id(self, which: str) -> str | None:
        """Return the id of the ALB or task group, None when it does not exist."""
        group = self.groups[which]
        return group["GroupId"] if group else None


def find_default_vpc(ctx: AwsContext) -> str:
    """Return the default VPC's id (172.31.0.0/16 in every region that still has one)."""
    with aws_errors("default VPC", "ec2"):
        vpcs = ctx.client("ec2").describe_vpcs(
            Filters=[{"Name": "is-default", "Values": ["true"]}]
        )["Vpcs"]
    if not vpcs:
        raise ResourceError("this region has no default VPC; create one or pass your own VPC")
    return vpcs[0]["VpcId"]


def _subnets(ctx: AwsContext, vpc_id: str, count: int = SUBNET_COUNT) -> tuple[str, ...]:
    """Return `count` default subnets in different AZs, sorted by AZ."""
    with aws_errors("default subnets", "ec2"):
        rows = ctx.client("ec2").describe_subnets(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "default-for-az", "Values": ["true"]},
            ]
        )["Subnets"]
    by_az: dict[str, str] = {}
    for s in sorted(rows, key=lambda s: (s["AvailabilityZone"], s["SubnetId"])):
        by_az.setdefault(s["AvailabilityZone"], s["SubnetId"])
    if len(by_az) < count:
        raise ResourceError(f"the default VPC has subnets in {len(by_az)} AZ(s); {count} needed")
    return tuple(list(by_az.values())[:count])


def find(ctx: AwsContext, names: StackNames) -> Found:
    """Describe the network once: default VPC, two subnets, both security groups."""
    vpc = find_default_vpc(ctx)
    wanted = {group_name(names, w): w for w in WHICH}
    with aws_errors("security groups", "ec2"):
        rows = ctx.client("ec2").describe_security_groups(
            Filters=[
                {"Name": "group-name", "Values": sorted(wanted)},
                {"Name": "vpc-id", "Values": [vpc]},
            ]
        )["SecurityGroups"]
    groups: dict[str, dict | None] = dict.fromkeys(WHICH)
    for row in rows:
        groups[wanted[row["GroupName"]]] = row
    return Found(vpc, _subnets(ctx, vpc), groups)


def rules(permissions: list[dict]) -> set[tuple]:
    """Flatten IpPermissions into (protocol, from, to, source) tuples."""
    out = set()
    for p in permissions:
        key = (p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"))
        out |= {(*key, r["CidrIp"]) for r in p.get("IpRanges", [])}
        out |= {(*key, r["CidrIpv6"]) for r in p.get("Ipv6Ranges", [])}
        out |= {(*key, r["GroupId"]) for r in p.get("UserIdGroupPairs", [])}
    return out


def _permission(rule: tuple) -> dict:
    proto, low, high, source = rule
    p = {"IpProtocol": proto, "FromPort": low, "ToPort": high}
    if source.startswith("sg-"):
        p["UserIdGroupPairs"] = [{"GroupId": source}]
    elif ":" in source:
        p["Ipv6Ranges"] = [{"CidrIpv6": source}]
    else:
        p["IpRanges"] = [{"CidrIp": source}]
    return p


def desired_rules(
    names: StackNames, which: str, alb_group_id: str | None, ports: tuple[int, ...] = (HTTP,)
) -> set[tuple]:
    """Return the ingress rules a group should have: web ports for the ALB, app port from it."""
    if which == "alb":  # nothing listens on 443 without a certificate: keep it closed then
        return {("tcp", port, port, src) for port in ports for src in ANYWHERE}
    # The task group admits the container port from the ALB's group only: a source-group rule,
    # so only traffic that came through the ALB reaches the tasks (never a CIDR).
    port = names.container_port
    return {("tcp", port, port, alb_group_id or "<alb security group>")}


def _converge_group(
    ctx: AwsContext,
    names: StackNames,
    found: Found,
    which: str,
    alb_id: str | None,
    ports: tuple[int, ...],
    apply: bool,
) -> Change:
    name = group_name(names, which)
    group = found.groups[which]
    want = desired_rules(names, which, alb_id, ports)
    ec2 = ctx.client("ec2")
    with aws_errors(f"security group {name}", "ec2"):
        if group is None:
            gid = None
            if apply:
                gid = ec2.create_security_group(
                    GroupName=name,
                    Description=f"{names.project}: {which} security group",
                    VpcId=found.vpc_id,
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": names.tag_list()}
                    ],
                )["GroupId"]
                ec2.authorize_security_group_ingress(
                    GroupId=gid, IpPermissions=[_permission(r) for r in sorted(want)]
                )
            return Change(KIND, name, "create", {"ingress": sorted(want)}, gid)
        gid = group["GroupId"]
        have = rules(group.get("IpPermissions", []))
        extra, missing = sorted(have - want), sorted(want - have)
        detail: dict = {}
        if extra:
            detail["revoke"] = extra
        if missing:
            detail["authorize"] = missing
        tags = tag_map(group.get("Tags"))
        if missing_tags(tags, names.tags):
            detail["tags"] = (tags, names.tags)
        if apply and extra:
            ec2.revoke_security_group_ingress(
                GroupId=gid, IpPermissions=[_permission(r) for r in extra]
            )
        if apply and missing:
            ec2.authorize_security_group_ingress(
                GroupId=gid, IpPermissions=[_permission(r) for r in missing]
            )
        if apply and "tags" in detail:
            ec2.create_tags(Resources=[gid], Tags=names.tag_list())
    return Change(KIND, name, "update" if detail else "unchanged", detail, gid)


def _converge(ctx: AwsContext, names: StackNames, https: bool, apply: bool) -> Result:
    ports = alb_ports(https)
    found = find(ctx, names)
    # The default VPC is found, never made: plan/ensure report it so a missing one is visible.
    changes = [Change("vpc", "default", "unchanged", {"id": found.vpc_id})]
    alb = _converge_group(ctx, names, found, "alb", found.group_id("alb"), ports, apply)
    task = _converge_group(ctx, names, found, "task", alb.arn, ports, apply)
    changes += [alb, task]
    outputs = NetworkOutputs(
        vpc_id=found.vpc_id,
        subnet_ids=found.subnet_ids,
        alb_security_group_id=alb.arn or UNKNOWN,
        task_security_group_id=task.arn or UNKNOWN,
        alb_ports=ports,
    )
    return Result(changes, outputs)


def plan(ctx: AwsContext, names: StackNames, *, https: bool = False) -> Result:
    """Return what ensure would do to the two security groups."""
    return _converge(ctx, names, https, apply=False)


def ensure(ctx: AwsContext, names: StackNames, *, https: bool = False) -> Result:
    """Create or converge the ALB group (80, with `https` 443 too) and the task group."""
    return _converge(ctx, names, https, apply=True)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the default VPC, chosen subnets and each group's id and ingress rules."""
    found = find(ctx, names)
    out: dict = {"vpc": found.vpc_id, "subnets": list(found.subnet_ids)}
    for which in WHICH:
        group = found.groups[which]
        out[f"{which}_security_group"] = (
            None
            if group is None
            else {"id": group["GroupId"], "ingress": sorted(rules(group["IpPermissions"]))}
        )
    return out


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the task group, then the ALB group it refers to (the ALB must be gone)."""
    found = find(ctx, names)
    changes = []
    for which in ("task", "alb"):
        name, group = group_name(names, which), found.groups[which]
        if group is None:
            changes.append(Change(KIND, name, "absent"))
            continue
        with aws_errors(f"security group {name}", "ec2"):
            ctx.client("ec2").delete_security_group(GroupId=group["GroupId"])
        changes.append(Change(KIND, name, "delete", {}, group["GroupId"]))
    return changes


def check_task_ingress(ctx: AwsContext, names: StackNames) -> list[str]:
    """Return the problems that would stop the ALB reaching the tasks (empty list = fine)."""
    found = find(ctx, names)
    alb, task = found.groups["alb"], found.groups["task"]
    if alb is None or task is None:
        missing = [w for w, g in (("ALB", alb), ("task", task)) if g is None]
        return [f"the {' and '.join(missing)} security group is missing"]
    problems = []
    port, task_rules = names.container_port, rules(task["IpPermissions"])
    opens = [r for r in task_rules if r[0] == "-1" or (r[1] <= port <= r[2] and r[0] == "tcp")]
    if not any(r[3] == alb["GroupId"] for r in opens):
        problems.append(
            f"task group {task['GroupId']} does not allow TCP {port} from the ALB group "
            f"{alb['GroupId']}: health checks time out and targets turn unhealthy"
        )
    for r in opens:
        if not r[3].startswith("sg-"):
            problems.append(
                f"task group allows port {port} from {r[3]}: tasks are reachable around the ALB"
            )
    if not any(r[1] == 80 and r[3] in ANYWHERE for r in rules(alb["IpPermissions"])):
        problems.append("ALB group does not allow HTTP 80 from the internet")
    return problems
