"""Keep the optional EFS file system: encrypted, mounted in the task subnets, NFS from tasks."""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.aws.errors import aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import UNKNOWN, Change, known
from deploy.resources.outputs import NetworkOutputs
from service.aws import AwsContext

NFS_PORT = 2049


def efs_token(names: StackNames) -> str:
    """Return the EFS creation token (makes create_file_system idempotent)."""
    return f"{names.family}-efs"


def efs_security_group_name(names: StackNames) -> str:
    """Return the name of the security group that lets tasks reach EFS over NFS."""
    return f"{names.family}-efs-sg"


@dataclass(frozen=True)
class Found:
    """The EFS pieces as they are (None = absent)."""

    group: dict | None
    file_system: dict | None
    mount_subnets: set[str] = field(default_factory=set)


def find_file_system(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the EFS file system made for the stack (by creation token) or None."""
    with aws_errors(f"EFS {efs_token(names)}", "efs"):
        found = ctx.client("efs").describe_file_systems(CreationToken=efs_token(names))
    live = [f for f in found["FileSystems"] if f["LifeCycleState"] not in ("deleting", "deleted")]
    return live[0] if live else None


def find_group(ctx: AwsContext, names: StackNames, vpc_id: str | None) -> dict | None:
    """Return the EFS security group (in `vpc_id`, or any VPC when None) or None."""
    filters = [{"Name": "group-name", "Values": [efs_security_group_name(names)]}]
    if vpc_id is not None:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    with aws_errors(f"security group {efs_security_group_name(names)}", "ec2"):
        groups = ctx.client("ec2").describe_security_groups(Filters=filters)["SecurityGroups"]
    return groups[0] if groups else None


def _mount_subnets(ctx: AwsContext, fs: dict | None) -> set[str]:
    if fs is None:
        return set()
    with aws_errors(f"EFS {fs['FileSystemId']}", "efs"):
        rows = ctx.client("efs").describe_mount_targets(FileSystemId=fs["FileSystemId"])
    return {m["SubnetId"] for m in rows["MountTargets"]}


def find(ctx: AwsContext, names: StackNames, vpc_id: str) -> Found:
    """Describe the EFS security group (in `vpc_id`), the file system and its mounts, once each."""
    group = find_group(ctx, names, vpc_id) if known(vpc_id) else None
    fs = find_file_system(ctx, names)
    return Found(group, fs, _mount_subnets(ctx, fs))


def _nfs_rule(group_id: str) -> dict:
    return {
        "IpProtocol": "tcp",
        "FromPort": NFS_PORT,
        "ToPort": NFS_PORT,
        "UserIdGroupPairs": [{"GroupId": group_id}],
    }


def _nfs_sources(group: dict) -> set[str]:
    """Return the security groups the EFS group admits on the NFS port."""
    return {
        pair["GroupId"]
        for p in group.get("IpPermissions", [])
        if p.get("IpProtocol") == "tcp" and p.get("FromPort") == NFS_PORT
        for pair in p.get("UserIdGroupPairs", [])
    }


def _efs_group_change(
    ctx: AwsContext, names: StackNames, found: Found, network: NetworkOutputs, apply: bool
) -> Change:
    ec2, name, task_sg = (
        ctx.client("ec2"),
        efs_security_group_name(names),
        network.task_security_group_id,
    )
    group = found.group
    with aws_errors(f"security group {name}", "ec2"):
        if group is None:
            gid = None
            if apply:
                gid = ec2.create_security_group(
                    GroupName=name,
                    Description="NFS from the ECS tasks to EFS",
                    VpcId=network.vpc_id,
                    TagSpecifications=[
                        {"ResourceType": "security-group", "Tags": names.tag_list()}
                    ],
                )["GroupId"]
                ec2.authorize_security_group_ingress(
                    GroupId=gid, IpPermissions=[_nfs_rule(task_sg)]
                )
            return Change("security-group", name, "create", {"nfs_from": task_sg}, gid)
        gid, sources = group["GroupId"], _nfs_sources(group)
        detail = {} if sources == {task_sg} else {"nfs_from": (sorted(sources), [task_sg])}
        if apply and detail:
            stale = sorted(sources - {task_sg})
            if stale:
                ec2.revoke_security_group_ingress(
                    GroupId=gid, IpPermissions=[_nfs_rule(s) for s in stale]
                )
            if task_sg not in sources:
                ec2.authorize_security_group_ingress(
                    GroupId=gid, IpPermissions=[_nfs_rule(task_sg)]
                )
    return Change("security-group", name, "update" if detail else "unchanged", detail, gid)


def converge(
    ctx: AwsContext, names: StackNames, found: Found, network: NetworkOutputs, apply: bool
) -> tuple[list[Change], str]:
    """Return the EFS group's, file system's and mount targets' changes, and the file system id."""
    group = _efs_group_change(ctx, names, found, network, apply)
    efs, fs, token = ctx.client("efs"), found.file_system, efs_token(names)
    changes = [group]
    with aws_errors(f"EFS {token}", "efs"):
        if fs is None:
            if apply:
                fs = efs.create_file_system(
                    CreationToken=token,
                    Encrypted=True,
                    PerformanceMode="generalPurpose",
                    ThroughputMode="elastic",
                    Tags=names.tag_list(),
                )
            changes.append(
                Change("efs-file-system", token, "create", {}, (fs or {}).get("FileSystemArn"))
            )
        else:
            changes.append(
                Change("efs-file-system", token, "unchanged", {}, fs.get("FileSystemArn"))
            )
        for subnet in network.subnet_ids if known(network.subnet_ids) else ():
            if subnet in found.mount_subnets:
                continue
            if apply:
                efs.create_mount_target(
                    FileSystemId=fs["FileSystemId"], SubnetId=subnet, SecurityGroups=[group.arn]
                )
            changes.append(Change("efs-mount-target", subnet, "create"))
    return changes, (fs["FileSystemId"] if fs else UNKNOWN)


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the mount targets, the file system and the NFS security group."""
    changes = []
    fs = find_file_system(ctx, names)
    if fs is not None:
        efs = ctx.client("efs")
        with aws_errors(f"EFS {efs_token(names)}", "efs"):
            for m in efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]:
                efs.delete_mount_target(MountTargetId=m["MountTargetId"])
            efs.delete_file_system(FileSystemId=fs["FileSystemId"])
        changes.append(Change("efs-file-system", efs_token(names), "delete"))
    group = find_group(ctx, names, None)
    if group is not None:
        with aws_errors(f"security group {efs_security_group_name(names)}", "ec2"):
            ctx.client("ec2").delete_security_group(GroupId=group["GroupId"])
        changes.append(Change("security-group", efs_security_group_name(names), "delete"))
    return changes
