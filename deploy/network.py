"""Find the default VPC and its subnets, and keep the ALB and task security groups."""

from deploy.changes import Change
from deploy.clients import client
from deploy.errors import InvalidInput, ResourceError, aws_errors
from deploy.names import StackNames

KIND = "security-group"
WHICH = ("alb", "task")
ANYWHERE = ("0.0.0.0/0", "::/0")


def _ec2():
    return client("ec2")


def find_default_vpc() -> str:
    """Return the default VPC's id (172.31.0.0/16 in every region that still has one)."""
    with aws_errors("default VPC", "ec2"):
        vpcs = _ec2().describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ResourceError("this region has no default VPC; create one or pass your own VPC")
    return vpcs[0]["VpcId"]


def subnets(names: StackNames, count: int = 2) -> list[str]:
    """Return `count` default subnets in different AZs, sorted by AZ (an ALB needs two AZs)."""
    vpc = find_default_vpc()
    with aws_errors("default subnets", "ec2"):
        rows = _ec2().describe_subnets(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "default-for-az", "Values": ["true"]},
            ]
        )["Subnets"]
    by_az = {}
    for s in sorted(rows, key=lambda s: (s["AvailabilityZone"], s["SubnetId"])):
        by_az.setdefault(s["AvailabilityZone"], s["SubnetId"])
    if len(by_az) < count:
        raise ResourceError(f"the default VPC has subnets in {len(by_az)} AZ(s); {count} needed")
    return list(by_az.values())[:count]


def _group_name(names: StackNames, which: str) -> str:
    if which not in WHICH:
        raise InvalidInput(f"unknown security group {which!r}: choose 'alb' or 'task'")
    return names.alb_security_group if which == "alb" else names.task_security_group


def find_security_group(names: StackNames, which: str = "alb") -> dict | None:
    """Return describe_security_groups' row for the ALB or task group, or None."""
    name = _group_name(names, which)
    with aws_errors(f"security group {name}", "ec2"):
        groups = _ec2().describe_security_groups(
            Filters=[
                {"Name": "group-name", "Values": [name]},
                {"Name": "vpc-id", "Values": [find_default_vpc()]},
            ]
        )["SecurityGroups"]
    return groups[0] if groups else None


def security_group_id(names: StackNames, which: str = "alb") -> str:
    """Return the id of the ALB or task security group (it must exist)."""
    group = find_security_group(names, which)
    if group is None:
        raise ResourceError(f"security group {_group_name(names, which)} does not exist")
    return group["GroupId"]


def _rules(permissions: list[dict]) -> set[tuple]:
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


def desired_rules(names: StackNames, which: str, alb_group_id: str | None) -> set[tuple]:
    """Return the ingress rules a group should have: web ports for the ALB, app port from it."""
    if which == "alb":
        return {("tcp", port, port, src) for port in (80, 443) for src in ANYWHERE}
    # The task group admits the container port from the ALB's group only: a source-group rule,
    # so only traffic that came through the ALB reaches the tasks (never a CIDR).
    port = names.container_port
    return {("tcp", port, port, alb_group_id or "<alb security group>")}


def _converge_group(names: StackNames, which: str, apply: bool) -> Change:
    name = _group_name(names, which)
    group = find_security_group(names, which)
    alb = find_security_group(names, "alb")
    want = desired_rules(names, which, alb["GroupId"] if alb else None)
    ec2 = _ec2()
    with aws_errors(f"security group {name}", "ec2"):
        if group is None:
            gid = None
            if apply:
                gid = ec2.create_security_group(
                    GroupName=name,
                    Description=f"{names.project}: {which} security group",
                    VpcId=find_default_vpc(),
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": names.tag_list()}
                    ],
                )["GroupId"]
                ec2.authorize_security_group_ingress(
                    GroupId=gid, IpPermissions=[_permission(r) for r in sorted(want)]
                )
            return Change(KIND, name, "create", {"ingress": sorted(want)}, gid)
        gid = group["GroupId"]
        have = _rules(group.get("IpPermissions", []))
        extra, missing = sorted(have - want), sorted(want - have)
        detail: dict = {}
        if extra:
            detail["revoke"] = extra
        if missing:
            detail["authorize"] = missing
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        if any(tags.get(k) != v for k, v in names.tags.items()):
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


def _vpc_change() -> Change:
    # The default VPC is found, never made: plan/ensure report it so a missing one is visible.
    return Change("vpc", "default", "unchanged", {"id": find_default_vpc()})


def plan(names: StackNames) -> list[Change]:
    """Return what ensure would do to the two security groups."""
    return [_vpc_change()] + [_converge_group(names, w, apply=False) for w in WHICH]


def ensure(names: StackNames) -> list[Change]:
    """Create or converge the ALB group (80/443 from anywhere) and the task group."""
    return [_vpc_change()] + [_converge_group(names, w, apply=True) for w in WHICH]


def describe(names: StackNames) -> dict:
    """Return the default VPC, chosen subnets and each group's id and ingress rules."""
    out: dict = {"vpc": find_default_vpc(), "subnets": subnets(names)}
    for which in WHICH:
        group = find_security_group(names, which)
        out[f"{which}_security_group"] = (
            None
            if group is None
            else {"id": group["GroupId"], "ingress": sorted(_rules(group["IpPermissions"]))}
        )
    return out


def delete(names: StackNames) -> list[Change]:
    """Delete the task group, then the ALB group it refers to (the ALB must be gone)."""
    changes = []
    for which in ("task", "alb"):
        name, group = _group_name(names, which), find_security_group(names, which)
        if group is None:
            changes.append(Change(KIND, name, "absent"))
            continue
        with aws_errors(f"security group {name}", "ec2"):
            _ec2().delete_security_group(GroupId=group["GroupId"])
        changes.append(Change(KIND, name, "delete", {}, group["GroupId"]))
    return changes


def check_task_ingress(names: StackNames) -> list[str]:
    """Return the problems that would stop the ALB reaching the tasks (empty list = fine)."""
    alb, task = find_security_group(names, "alb"), find_security_group(names, "task")
    if alb is None or task is None:
        missing = [w for w, g in (("ALB", alb), ("task", task)) if g is None]
        return [f"the {' and '.join(missing)} security group is missing"]
    problems = []
    port, rules = names.container_port, _rules(task["IpPermissions"])
    opens = [r for r in rules if r[0] == "-1" or (r[1] <= port <= r[2] and r[0] == "tcp")]
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
    alb_rules = _rules(alb["IpPermissions"])
    if not any(r[1] == 80 and r[3] in ANYWHERE for r in alb_rules):
        problems.append("ALB group does not allow HTTP 80 from the internet")
    return problems
