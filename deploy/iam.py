"""Keep the stack's IAM identities: execution role, task role, CI user and GitHub OIDC role."""

from botocore.exceptions import ClientError

from deploy import policies, secrets
from deploy.changes import Change
from deploy.clients import account_id, client
from deploy.errors import InvalidInput, ResourceError, aws_errors
from deploy.names import StackNames

ROLES = ("execution", "task", "ci")
GITHUB_OIDC_URL = f"https://{policies.GITHUB_OIDC_HOST}"


def _iam():
    return client("iam")


def _role_name(names: StackNames, which: str) -> str:
    if which not in ROLES:
        raise InvalidInput(f"unknown role {which!r}: choose one of {', '.join(ROLES)}")
    return {"execution": names.execution_role, "task": names.task_role, "ci": names.ci_role}[which]


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("NoSuchEntity", "NoSuchEntityException")


def _tags(items: list[dict] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def find_role(names: StackNames, which: str = "execution") -> dict | None:
    """Return get_role for the execution, task or CI role, or None when it does not exist."""
    name = _role_name(names, which)
    with aws_errors(f"IAM role {name}", "iam"):
        try:
            return _iam().get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if _missing(exc):
                return None
            raise


def role_arn(names: StackNames, which: str = "execution") -> str:
    """Return the ARN of the execution, task or CI role (it must exist)."""
    role = find_role(names, which)
    if role is None:
        raise ResourceError(f"IAM role {_role_name(names, which)} does not exist; run iam.ensure")
    return role["Arn"]


def ci_policy_arn(names: StackNames) -> str:
    """Return the ARN of the CI deploy policy (customer managed, shared by user and role)."""
    return f"arn:aws:iam::{account_id()}:policy/{names.ci_user}-deploy-policy"


def _desired(names: StackNames, ecs_exec: bool, ci_user: bool, github_oidc: bool) -> list:
    """Return (kind, name, desired state) for every identity, in creation order."""
    account = account_id()
    secret = secrets.find_secret(names)
    docs = policies.stack_policies(
        names, account, secret_arn=secret["ARN"] if secret else None, ecs_exec=ecs_exec
    )
    exec_inline, task_inline, ci_doc = docs.items()
    arns = policies.arns(names, account)
    wanted = [
        ("iam-role", names.execution_role, {
            "trust": policies.ecs_tasks_trust(),
            "managed": [policies.EXECUTION_MANAGED_POLICY],
            "inline": dict([exec_inline]),
        }),
        ("iam-role", names.task_role, {
            "trust": policies.ecs_tasks_trust(), "managed": [], "inline": dict([task_inline]),
        }),
    ]  # fmt: skip
    if ci_user or github_oidc:
        wanted.append(("iam-policy", ci_doc[0], {"document": ci_doc[1]}))
    if ci_user:
        wanted.append(("iam-user", names.ci_user, {"managed": [ci_policy_arn(names)]}))
    if github_oidc:
        trust = policies.github_oidc_trust(arns["oidc_provider"], names.github_repo)
        wanted.append(
            ("oidc-provider", arns["oidc_provider"], {"client_ids": ["sts.amazonaws.com"]})
        )
        wanted.append(("iam-role", names.ci_role, {
            "trust": trust, "managed": [ci_policy_arn(names)], "inline": {},
        }))  # fmt: skip
    return wanted


def _current(kind: str, name: str) -> dict | None:
    """Return the same shape as the desired state, read from IAM, or None when absent."""
    iam = _iam()
    try:
        if kind == "iam-role":
            role = iam.get_role(RoleName=name)["Role"]
            attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
            return {
                "arn": role["Arn"],
                "trust": role["AssumeRolePolicyDocument"],
                "managed": sorted(p["PolicyArn"] for p in attached),
                "inline": {
                    p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                    for p in inline
                },
                "tags": _tags(iam.list_role_tags(RoleName=name)["Tags"]),
            }
        if kind == "iam-policy":
            arn = f"arn:aws:iam::{account_id()}:policy/{name}"
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
            version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
            return {
                "arn": arn,
                "document": version["PolicyVersion"]["Document"],
                "tags": _tags(iam.list_policy_tags(PolicyArn=arn)["Tags"]),
            }
        if kind == "iam-user":
            user = iam.get_user(UserName=name)["User"]
            attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
            return {
                "arn": user["Arn"],
                "managed": sorted(p["PolicyArn"] for p in attached),
                "tags": _tags(iam.list_user_tags(UserName=name)["Tags"]),
            }
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=name)
        return {
            "arn": name,
            "client_ids": sorted(provider["ClientIDList"]),
            "tags": _tags(provider.get("Tags")),
        }
    except ClientError as exc:
        if _missing(exc):
            return None
        raise


def _create(kind: str, name: str, want: dict, names: StackNames) -> str:
    iam, tags = _iam(), names.tag_list()
    if kind == "iam-role":
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=policies.to_json(want["trust"]), Tags=tags
        )["Role"]["Arn"]
        _update(kind, name, {"managed": [], "inline": {}}, want)
        return arn
    if kind == "iam-policy":
        return iam.create_policy(
            PolicyName=name, PolicyDocument=policies.to_json(want["document"]), Tags=tags
        )["Policy"]["Arn"]
    if kind == "iam-user":
        arn = iam.create_user(UserName=name, Tags=tags)["User"]["Arn"]
        _update(kind, name, {"managed": []}, want)
        return arn
    return iam.create_open_id_connect_provider(
        Url=GITHUB_OIDC_URL, ClientIDList=want["client_ids"], Tags=tags
    )["OpenIDConnectProviderArn"]


def _update(kind: str, name: str, have: dict, want: dict) -> None:
    iam = _iam()
    if "trust" in want and have.get("trust") != want["trust"] and "trust" in have:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=policies.to_json(want["trust"]))
    for arn in sorted(set(want.get("managed", [])) - set(have.get("managed", []))):
        if kind == "iam-role":
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        else:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
    for arn in sorted(set(have.get("managed", [])) - set(want.get("managed", []))):
        if kind == "iam-role":
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        else:
            iam.detach_user_policy(UserName=name, PolicyArn=arn)
    for pname, doc in want.get("inline", {}).items():
        if have.get("inline", {}).get(pname) != doc:  # converge: put the document again
            iam.put_role_policy(
                RoleName=name, PolicyName=pname, PolicyDocument=policies.to_json(doc)
            )
    for pname in set(have.get("inline", {})) - set(want.get("inline", {})):
        iam.delete_role_policy(RoleName=name, PolicyName=pname)
    if "document" in want and have.get("document") != want["document"]:
        _new_default_version(have["arn"], want["document"])
    if kind == "oidc-provider":
        for cid in sorted(set(want["client_ids"]) - set(have["client_ids"])):
            iam.add_client_id_to_open_id_connect_provider(
                OpenIDConnectProviderArn=name, ClientID=cid
            )


def _new_default_version(arn: str, document: dict) -> None:
    # A managed policy keeps at most 5 versions: drop the oldest non-default one first.
    iam = _iam()
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    spare = sorted(
        (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
    )
    if len(versions) >= 5 and spare:
        iam.delete_policy_version(PolicyArn=arn, VersionId=spare[0]["VersionId"])
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=policies.to_json(document), SetAsDefault=True
    )


def _tag(kind: str, name: str, arn: str, tags: dict[str, str], names: StackNames) -> None:
    iam, items = _iam(), [{"Key": k, "Value": v} for k, v in tags.items()]
    if kind == "iam-role":
        iam.tag_role(RoleName=name, Tags=items)
    elif kind == "iam-policy":
        iam.tag_policy(PolicyArn=arn, Tags=items)
    elif kind == "iam-user":
        iam.tag_user(UserName=name, Tags=items)
    else:
        iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=items)


def _converge(names: StackNames, apply: bool, **opts: bool) -> list[Change]:
    changes = []
    for kind, name, want in _desired(names, **opts):
        with aws_errors(f"{kind} {name}", "iam"):
            have = _current(kind, name)
            if have is None:
                arn = _create(kind, name, want, names) if apply else None
                changes.append(Change(kind, name, "create", {}, arn))
                continue
            detail = {k: (have.get(k), v) for k, v in want.items() if _differs(have.get(k), v)}
            missing = {k: v for k, v in names.tags.items() if have["tags"].get(k) != v}
            if missing:
                detail["tags"] = (have["tags"], names.tags)
            if apply and detail:
                _update(kind, name, have, want)
                if missing:
                    _tag(kind, name, have["arn"], missing, names)
            changes.append(
                Change(kind, name, "update" if detail else "unchanged", detail, have["arn"])
            )
    return changes


def _differs(have: object, want: object) -> bool:
    if isinstance(want, list):
        return sorted(have or []) != sorted(want)
    return have != want


def plan(
    names: StackNames, *, ecs_exec: bool = False, ci_user: bool = True, github_oidc: bool = True
) -> list[Change]:
    """Return what ensure would do to each IAM identity and policy."""
    return _converge(names, False, ecs_exec=ecs_exec, ci_user=ci_user, github_oidc=github_oidc)


def ensure(
    names: StackNames, *, ecs_exec: bool = False, ci_user: bool = True, github_oidc: bool = True
) -> list[Change]:
    """Create or converge the roles, the CI policy, user and GitHub OIDC provider + role."""
    # Run secrets.ensure first: the execution policy then names the secret's exact ARN
    # (until then it uses the `name-??????` pattern and a later ensure narrows it).
    return _converge(names, True, ecs_exec=ecs_exec, ci_user=ci_user, github_oidc=github_oidc)


def describe(names: StackNames) -> dict:
    """Return each identity's ARN, trust, attached and inline policies (None when absent)."""
    labels = ["execution_role", "task_role", "ci_policy", "ci_user", "oidc_provider", "ci_role"]
    out = {}
    for label, (kind, name, _) in zip(labels, _desired(names, False, True, True), strict=True):
        with aws_errors(f"{kind} {name}", "iam"):
            out[label] = _current(kind, name)
    return out


def delete(names: StackNames) -> list[Change]:
    """Delete every identity ensure made (detaching policies first), newest first."""
    iam, changes = _iam(), []
    for kind, name, _ in reversed(_desired(names, False, True, True)):
        with aws_errors(f"{kind} {name}", "iam"):
            have = _current(kind, name)
            if have is None:
                changes.append(Change(kind, name, "absent"))
                continue
            if kind == "iam-role":
                _update(kind, name, have, {"managed": [], "inline": {}})
                iam.delete_role(RoleName=name)
            elif kind == "iam-user":
                _update(kind, name, have, {"managed": []})
                for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
                iam.delete_user(UserName=name)
            elif kind == "iam-policy":
                _delete_policy(have["arn"])
            else:
                iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=name)
            changes.append(Change(kind, name, "delete", {}, have["arn"]))
    return changes


def _delete_policy(arn: str) -> None:
    iam = _iam()
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    for role in entities["PolicyRoles"]:
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    for user in entities["PolicyUsers"]:
        iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)
