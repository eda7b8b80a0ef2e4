"""Keep the stack's IAM identities: the two task roles, the GitHub OIDC role, a CI user on request.

The deploy identity is the GitHub OIDC role by default (short-lived sessions, no stored key);
the long-lived CI IAM user, whose access keys would live in GitHub secrets, exists only with
`ci_user=True` (`workbook stack apply --ci-user`), and goes again when the option is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, aws_errors
from deploy.aws.names import StackNames
from deploy.models import policies
from deploy.resources.contract import (
    UNKNOWN,
    Change,
    Result,
    known,
    missing_tags,
    require,
    tag_map,
)
from deploy.resources.outputs import IamOutputs, SecretOutputs
from service.aws import AwsContext

GITHUB_OIDC_URL = f"https://{policies.GITHUB_OIDC_HOST}"


@dataclass(frozen=True)
class Identity:
    """One identity the stack keeps: its describe label, change kind, name and ARN if fixed."""

    label: str
    kind: str  # iam-role, iam-policy, iam-user or oidc-provider
    name: str
    arn: str | None = None  # policies and providers are addressed by a computable ARN


def ci_policy_arn(ctx: AwsContext, names: StackNames) -> str:
    """Return the ARN of the CI deploy policy (customer managed, shared by user and role)."""
    return _ci_policy_arn(ctx.account_id, names)


def _ci_policy_arn(account: str, names: StackNames) -> str:
    return f"arn:aws:iam::{account}:policy/{names.ci_user}-deploy-policy"


def _oidc_provider_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{policies.GITHUB_OIDC_HOST}"


def _identities(
    ctx: AwsContext, names: StackNames, ci_user: bool = True, github_oidc: bool = True
) -> list[Identity]:
    """Return the identities the options ask for, in creation order (default: all of them)."""
    found = [
        Identity("execution_role", "iam-role", names.execution_role),
        Identity("task_role", "iam-role", names.task_role),
    ]
    if ci_user or github_oidc:
        policy = f"{names.ci_user}-deploy-policy"
        found.append(Identity("ci_policy", "iam-policy", policy, ci_policy_arn(ctx, names)))
    if ci_user:
        found.append(Identity("ci_user", "iam-user", names.ci_user))
    if github_oidc:
        provider = _oidc_provider_arn(ctx.account_id)
        found.append(Identity("oidc_provider", "oidc-provider", provider, provider))
        found.append(Identity("ci_role", "iam-role", names.ci_role))
    return found


def desired(
    names: StackNames,
    account: str,
    region: str,
    *,
    secret_arn: str | None = None,
    ecs_exec: bool = False,
    github_oidc: bool = True,
) -> dict[str, dict]:
    """Return the wanted state of every identity, by label (pure: no AWS call)."""
    docs = policies.stack_policies(names, account, region, secret_arn=secret_arn, ecs_exec=ecs_exec)
    ci_policy = _ci_policy_arn(account, names)
    trust = policies.ecs_tasks_trust(account, region)
    extras, app = f"{names.execution_role}-extras", f"{names.task_role}-app"
    wanted = {
        # ECS itself (pulling the image, reading the secret, writing logs): the managed
        # policy grants the ECR pulls and log writes, the inline extras the rest.
        "execution_role": {
            "trust": trust,
            "managed": [policies.EXECUTION_MANAGED_POLICY],
            "inline": {extras: docs[extras]},
        },
        # The app's own calls: its bucket and table only.
        "task_role": {
            "trust": trust,
            "managed": [],
            "inline": {app: docs[app]},
        },
        "ci_policy": {"document": docs[f"{names.ci_user}-deploy-policy"]},
        "ci_user": {"managed": [ci_policy]},
        "oidc_provider": {"client_ids": [policies.GITHUB_AUDIENCE]},
    }
    if github_oidc:  # the repo is validated only when the GitHub role is wanted
        github = policies.github_oidc_trust(_oidc_provider_arn(account), names.github_repo)
        wanted["ci_role"] = {"trust": github, "managed": [ci_policy], "inline": {}}
    return wanted


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("NoSuchEntity", "NoSuchEntityException")


def _current(ctx: AwsContext, ident: Identity) -> dict | None:
    """Read one identity in the desired state's shape (tags included), or None when absent."""
    iam, name = ctx.client("iam"), ident.name
    try:
        if ident.kind == "iam-role":
            role = iam.get_role(RoleName=name)["Role"]  # carries Tags: no list_role_tags
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
                "tags": tag_map(role.get("Tags")),
            }
        if ident.kind == "iam-policy":
            policy = iam.get_policy(PolicyArn=ident.arn)["Policy"]
            version = iam.get_policy_version(
                PolicyArn=ident.arn, VersionId=policy["DefaultVersionId"]
            )
            return {
                "arn": policy["Arn"],
                "document": version["PolicyVersion"]["Document"],
                "tags": tag_map(policy.get("Tags")),
            }
        if ident.kind == "iam-user":
            user = iam.get_user(UserName=name)["User"]
            attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
            return {
                "arn": user["Arn"],
                "managed": sorted(p["PolicyArn"] for p in attached),
                "tags": tag_map(user.get("Tags")),
            }
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ident.arn)
        return {
            "arn": ident.arn,
            "client_ids": sorted(provider["ClientIDList"]),
            "tags": tag_map(provider.get("Tags")),
        }
    except ClientError as exc:
        if _missing(exc):
            return None
        raise


def _create(ctx: AwsContext, ident: Identity, want: dict, names: StackNames) -> str:
    iam, tags, name = ctx.client("iam"), names.tag_list(), ident.name
    if ident.kind == "iam-role":
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=policies.to_json(want["trust"]), Tags=tags
        )["Role"]["Arn"]
        _update(ctx, ident, {"managed": [], "inline": {}}, want)
        return arn
    if ident.kind == "iam-policy":
        return iam.create_policy(
            PolicyName=name, PolicyDocument=policies.to_json(want["document"]), Tags=tags
        )["Policy"]["Arn"]
    if ident.kind == "iam-user":
        arn = iam.create_user(UserName=name, Tags=tags)["User"]["Arn"]
        _update(ctx, ident, {"managed": []}, want)
        return arn
    return iam.create_open_id_connect_provider(
        Url=GITHUB_OIDC_URL, ClientIDList=want["client_ids"], Tags=tags
    )["OpenIDConnectProviderArn"]


def _update(ctx: AwsContext, ident: Identity, have: dict, want: dict) -> None:
    iam, name, role = ctx.client("iam"), ident.name, ident.kind == "iam-role"
    if "trust" in want and "trust" in have and have["trust"] != want["trust"]:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=policies.to_json(want["trust"]))
    for arn in sorted(set(want.get("managed", [])) - set(have.get("managed", []))):
        if role:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        else:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
    for arn in sorted(set(have.get("managed", [])) - set(want.get("managed", []))):
        if role:
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        else:
            iam.detach_user_policy(UserName=name, PolicyArn=arn)
    for pname, doc in want.get("inline", {}).items():
        if have.get("inline", {}).get(pname) != doc:  # converge: put the document again
            iam.put_role_policy(
                RoleName=name, PolicyName=pname, PolicyDocument=policies.to_json(doc)
            )
    for pname in sorted(set(have.get("inline", {})) - set(want.get("inline", {}))):
        iam.delete_role_policy(RoleName=name, PolicyName=pname)
    if "document" in want and have.get("document") != want["document"]:
        _new_default_version(ctx, have["arn"], want["document"])
    if ident.kind == "oidc-provider":
        for cid in sorted(set(want["client_ids"]) - set(have["client_ids"])):
            iam.add_client_id_to_open_id_connect_provider(
                OpenIDConnectProviderArn=ident.arn, ClientID=cid
            )


def _new_default_version(ctx: AwsContext, arn: str, document: dict) -> None:
    # A managed policy keeps at most 5 versions: drop the oldest non-default one first.
    iam = ctx.client("iam")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    spare = sorted(
        (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
    )
    if len(versions) >= 5 and spare:
        iam.delete_policy_version(PolicyArn=arn, VersionId=spare[0]["VersionId"])
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=policies.to_json(document), SetAsDefault=True
    )


def _tag(ctx: AwsContext, ident: Identity, arn: str, tags: dict[str, str]) -> None:
    iam, items = ctx.client("iam"), [{"Key": k, "Value": v} for k, v in tags.items()]
    if ident.kind == "iam-role":
        iam.tag_role(RoleName=ident.name, Tags=items)
    elif ident.kind == "iam-policy":
        iam.tag_policy(PolicyArn=arn, Tags=items)
    elif ident.kind == "iam-user":
        iam.tag_user(UserName=ident.name, Tags=items)
    else:
        iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=items)


def _differs(have: object, want: object) -> bool:
    if isinstance(want, list):
        return sorted(have or []) != sorted(want)
    return have != want


def _secret_arn(secrets: SecretOutputs, apply: bool, names: StackNames) -> str | None:
    """Return the secret's ARN to name in the policies (None: unknown, use the pattern)."""
    if not isinstance(secrets, SecretOutputs):
        raise InvalidInput(f"secrets must be the secret's SecretOutputs, got {secrets!r}")
    if apply:
        require("the secret", f"IAM role {names.execution_role}", secrets.arn)
    arn = secrets.arn
    if not known(arn):
        return None
    pattern = rf"arn:[\w-]+:secretsmanager:[\w-]+:\d{{12}}:secret:{re.escape(names.secret)}-\w{{6}}"
    if not isinstance(arn, str) or not re.fullmatch(pattern, arn):
        raise InvalidInput(f"secrets.arn must be the ARN of secret {names.secret!r}, got {arn!r}")
    return arn


def _check_flags(**flags: object) -> None:
    bad = sorted(k for k, v in flags.items() if not isinstance(v, bool))
    if bad:
        raise InvalidInput(f"IAM option(s) {', '.join(bad)} must be True or False")


def _converge(
    ctx: AwsContext,
    names: StackNames,
    secrets: SecretOutputs,
    apply: bool,
    ecs_exec: bool,
    ci_user: bool,
    github_oidc: bool,
) -> Result:
    _check_flags(ecs_exec=ecs_exec, ci_user=ci_user, github_oidc=github_oidc)
    secret_arn = _secret_arn(secrets, apply, names)
    # Every document is built (and the GitHub repo validated) before anything is read or written.
    wanted = desired(
        names,
        ctx.account_id,
        ctx.region,
        secret_arn=secret_arn,
        ecs_exec=ecs_exec,
        github_oidc=github_oidc,
    )
    changes, arns = [], {}
    for ident in _identities(ctx, names, ci_user, github_oidc):
        want = wanted[ident.label]
        with aws_errors(f"{ident.kind} {ident.name}", "iam"):
            have = _current(ctx, ident)
            if have is None:
                arn = _create(ctx, ident, want, names) if apply else None
                changes.append(Change(ident.kind, ident.name, "create", {}, arn))
                arns[ident.label] = arn or UNKNOWN
                continue
            detail = {k: (have.get(k), v) for k, v in want.items() if _differs(have.get(k), v)}
            absent = missing_tags(have["tags"], names.tags)
            if absent:
                detail["tags"] = (have["tags"], names.tags)
            if apply and detail:
                _update(ctx, ident, have, want)
                if absent:
                    _tag(ctx, ident, have["arn"], absent)
        action = "update" if detail else "unchanged"
        changes.append(Change(ident.kind, ident.name, action, detail, have["arn"]))
        arns[ident.label] = have["arn"]
    changes += _unwanted_user(ctx, names, ci_user, apply)
    outputs = IamOutputs(
        execution_role_arn=arns["execution_role"],
        task_role_arn=arns["task_role"],
        ci_policy_arn=arns.get("ci_policy"),
        ci_user_arn=arns.get("ci_user"),
        ci_role_arn=arns.get("ci_role"),
    )
    return Result(changes, outputs)


def _unwanted_user(ctx: AwsContext, names: StackNames, ci_user: bool, apply: bool) -> list[Change]:
    """Report (and with apply, delete) a CI user an earlier apply made that is not asked for now."""
    # Converging: once ci_user is dropped, its long-lived access keys go too, which is what the
    # OIDC default is for. (Other identities left out of the options are left alone: the OIDC
    # provider is account-wide and may serve other repositories.)
    if ci_user:
        return []
    ident = Identity("ci_user", "iam-user", names.ci_user)
    with aws_errors(f"{ident.kind} {ident.name}", "iam"):
        have = _current(ctx, ident)
        if have is None:
            return []
        if apply:
            _remove(ctx, ident, have)
    detail = {"not_asked_for": "ci_user=False"}
    return [Change(ident.kind, ident.name, "delete", detail, have["arn"])]


def plan(
    ctx: AwsContext,
    names: StackNames,
    *,
    secrets: SecretOutputs,
    ecs_exec: bool = False,
    ci_user: bool = False,
    github_oidc: bool = True,
) -> Result:
    """Return what ensure would do to each IAM identity and policy, and the ARNs it hands on."""
    return _converge(ctx, names, secrets, False, ecs_exec, ci_user, github_oidc)


def ensure(
    ctx: AwsContext,
    names: StackNames,
    *,
    secrets: SecretOutputs,
    ecs_exec: bool = False,
    ci_user: bool = False,
    github_oidc: bool = True,
) -> Result:
    """Create or converge the task roles, the CI policy, the GitHub OIDC role (and CI user)."""
    # The execution policy names the secret's exact ARN (random suffix included), so the
    # secret must exist first; a plan without it shows the `name-??????` pattern instead.
    return _converge(ctx, names, secrets, True, ecs_exec, ci_user, github_oidc)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return each identity's ARN, trust, attached and inline policies (None when absent)."""
    out = {}
    for ident in _identities(ctx, names):
        with aws_errors(f"{ident.kind} {ident.name}", "iam"):
            out[ident.label] = _current(ctx, ident)
    return out


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete every identity ensure made (detaching policies first), newest first."""
    changes = []
    for ident in reversed(_identities(ctx, names)):
        name = ident.name
        with aws_errors(f"{ident.kind} {name}", "iam"):
            have = _current(ctx, ident)
            if have is None:
                changes.append(Change(ident.kind, name, "absent"))
                continue
            _remove(ctx, ident, have)
            changes.append(Change(ident.kind, name, "delete", {}, have["arn"]))
    return changes


def _remove(ctx: AwsContext, ident: Identity, have: dict) -> None:
    """Delete one identity, detaching its policies (and a user's access keys) first."""
    iam, name = ctx.client("iam"), ident.name
    if ident.kind == "iam-role":
        _update(ctx, ident, have, {"managed": [], "inline": {}})
        iam.delete_role(RoleName=name)
    elif ident.kind == "iam-user":
        _update(ctx, ident, have, {"managed": []})
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=name)
    elif ident.kind == "iam-policy":
        _delete_policy(ctx, have["arn"])
    else:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=ident.arn)


def _delete_policy(ctx: AwsContext, arn: str) -> None:
    iam = ctx.client("iam")
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    for role in entities["PolicyRoles"]:
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    for user in entities["PolicyUsers"]:
        iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)
