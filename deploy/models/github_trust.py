"""A model of how IAM judges a GitHub OIDC token against a role's trust policy, and why a policy is wrong.

IAM's documented condition rules (StringEquals/StringLike, ForAllValues, ...IfExists, an explicit
Deny winning) applied to the `sub` and `aud` claims GitHub puts in its tokens. It is a model:
the real evaluation happens in STS; chapter 10's exercises and the stack comparison use it.
"""

from __future__ import annotations

import json

from deploy import pipeline
from deploy.models import policies

GITHUB = policies.GITHUB_OIDC_HOST
SUB, AUD = f"{GITHUB}:sub", f"{GITHUB}:aud"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
NOT_AUTHORIZED = f"Not authorized to perform {WEB_IDENTITY}"


# ---- a model of how IAM evaluates a GitHub token against a trust policy -------------------------


def subjects(repo: str, branch: str = "main") -> dict[str, str]:
    """Return sample `sub` claims GitHub puts in its tokens, by who asks; the first is aws.yml's."""
    owner = repo.split("/", 1)[0]
    return {
        f"aws.yml's own run (a push to {branch})": f"repo:{repo}:ref:refs/heads/{branch}",
        "a push to another branch of the repository": f"repo:{repo}:ref:refs/heads/feature-x",
        "a pull request's run": f"repo:{repo}:pull_request",
        "a job that names a GitHub environment": f"repo:{repo}:environment:production",
        "another repository of the same owner": f"repo:{owner}/other-repo:ref:refs/heads/{branch}",
        "a stranger's repository": "repo:stranger/anything:ref:refs/heads/main",
    }


# Why a trust policy must not admit each unwanted subject (same keys' order as subjects()).
WHY_NOT = (
    "anyone who can push a branch can change the workflow on it and deploy to production, "
    "skipping review and CI",
    "a pull request's workflow runs code nobody has reviewed yet",
    "any job of any branch that names an environment gets in, not only this deploy",
    "every repository of the owner, including future ones, could deploy into this account",
    "any workflow in any repository on GitHub, anyone's, can take this role",
)


def _holds(operator: str, key: str, wanted: object, claims: dict[str, str]) -> bool:
    """Return whether one condition (operator, key, values) holds for a token's claims."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    value = claims.get(key)
    if value is None:
        # AWS: an absent key fails a condition, except ForAllValues (true when the key is
        # absent), ...IfExists and the negated operators.
        return qualifier == "ForAllValues" or if_exists or base.startswith("StringNot")
    values = [str(v) for v in policies.listed(wanted)]
    equal, like = value in values, any(policies.string_like(p, value) for p in values)
    outcome = {
        "StringEquals": equal,
        "StringLike": like,
        "StringNotEquals": not equal,
        "StringNotLike": not like,
    }
    return outcome.get(base, False)  # an operator this model does not know admits nobody


def _matches(statement: dict, provider_arn: str, claims: dict[str, str]) -> bool:
    principal = statement.get("Principal")
    federated = policies.listed(principal.get("Federated")) if isinstance(principal, dict) else []
    if principal != "*" and provider_arn not in federated:
        return False
    actions = policies.listed(statement.get("Action"))
    if not any(a in (WEB_IDENTITY, "sts:*", "*") for a in actions):
        return False
    condition = statement.get("Condition") or {}
    return all(
        _holds(op, key, wanted, claims)
        for op, pairs in condition.items()
        if isinstance(pairs, dict)
        for key, wanted in pairs.items()
    )


def trust_admits(trust: object, provider_arn: str, claims: dict[str, str]) -> bool:
    """Return True when the trust policy lets a GitHub token with `claims` assume the role."""
    found = policies.statements(trust)
    denied = any(s.get("Effect") == "Deny" and _matches(s, provider_arn, claims) for s in found)
    allowed = any(s.get("Effect") == "Allow" and _matches(s, provider_arn, claims) for s in found)
    return allowed and not denied


def who_can_assume(trust: object, provider_arn: str, repo: str) -> dict[str, bool]:
    """Return, for each sample subject, whether its token (audience sts) gets the role."""
    return {
        label: trust_admits(trust, provider_arn, {SUB: sub, AUD: policies.GITHUB_AUDIENCE})
        for label, sub in subjects(repo).items()
    }


# ---- what is wrong with a GitHub trust policy, and why -----------------------------------------


def _conditions(doc: object, key: str) -> list[tuple[str, list[str]]]:
    """Return (operator, values) of every Allow statement's condition on `key`."""
    found = []
    for s in policies.statements(doc):
        if s.get("Effect") != "Allow":
            continue
        for op, pairs in (s.get("Condition") or {}).items():
            if isinstance(pairs, dict) and key in pairs:
                found.append((op, [str(v) for v in policies.listed(pairs[key])]))
    return found


def _principal_problems(doc: object, provider_arn: str) -> list[str]:
    allows = [s for s in policies.statements(doc) if s.get("Effect") == "Allow"]
    if not allows:
        return ["the trust policy has no Allow statement: nobody can assume the role"]
    problems = []
    principals = [s.get("Principal") for s in allows]
    federated = [
        f for p in principals if isinstance(p, dict) for f in policies.listed(p.get("Federated"))
    ]
    if provider_arn not in federated:
        shown = ", ".join(json.dumps(p) for p in principals)
        problems.append(
            f"trust policy principal is {shown}: GitHub's token reaches STS through the OIDC "
            f"provider, so the principal is {{'Federated': '{provider_arn}'}}"
        )
    actions = [a for s in allows for a in policies.listed(s.get("Action"))]
    if not any(a in (WEB_IDENTITY, "sts:*", "*") for a in actions):
        problems.append(
            f"trust policy allows {actions}: a web-identity token is exchanged with "
            f"{WEB_IDENTITY} (sts:AssumeRole is for AWS principals and services), so "
            f"configure-aws-credentials stops with '{NOT_AUTHORIZED}'"
        )
    return problems


def _sub_hints(values: list[str], want: str) -> list[str]:
    hints = []
    for v in values:
        if not v.startswith("repo:"):
            hints.append(f"'{v}' lacks the 'repo:' prefix every GitHub subject starts with")
        elif ":environment:" in v:
            hints.append(
                f"'{v}' is the subject of a job with an environment; aws.yml's deploy job "
                "names none, so its token carries the branch ref"
            )
        elif ":ref:refs/heads/" in v and not policies.string_like(v, want):
            hints.append(f"'{v}' names another branch or repository than aws.yml's run")
    return hints


def github_trust_problems(
    doc: object, provider_arn: str, repo: str, branch: str = "main"
) -> list[str]:
    """Return what is wrong with a CI role's trust policy for `repo`'s `branch`, and why."""
    if not policies.statements(doc):
        return ["is not a trust policy document ({'Version': ..., 'Statement': [...]})"]
    problems = _principal_problems(doc, provider_arn)
    if problems:
        return problems
    samples = subjects(repo, branch)
    want_label, want = next(iter(samples.items()))
    subs, auds = _conditions(doc, SUB), _conditions(doc, AUD)
    if not subs:
        problems.append(
            f"no {SUB} condition: GitHub's provider issues tokens to every workflow on GitHub, "
            f"so any repository, anyone's, can assume this role (AWS recommends always "
            f"evaluating the sub key; pin it to '{want}')"
        )
    for op, values in subs + auds:
        if op.startswith("ForAllValues:"):
            problems.append(
                f"{op} is for keys with several values and is true when the key is absent; "
                "the sub and aud claims hold one value each: use StringEquals"
            )
        elif op.removesuffix("IfExists") == "StringEquals" and any(
            c in v for v in values for c in "*?"
        ):
            problems.append(
                f"StringEquals compares literally: {values} matches no token ('*' is a "
                "wildcard only for StringLike), so no run can assume the role"
            )
    admitted = who_can_assume(doc, provider_arn, repo)
    if not admitted[want_label]:
        problems.append(
            f"{want_label} presents sub '{want}' and audience '{policies.GITHUB_AUDIENCE}': "
            f"your trust policy refuses it, so the step '{pipeline.CREDENTIALS}' fails with "
            f"'{NOT_AUTHORIZED}'"
        )
        problems += _sub_hints([v for _, vs in subs for v in vs], want)
        problems += [
            f"the audience must be '{policies.GITHUB_AUDIENCE}' (what configure-aws-credentials "
            f"asks GitHub for), not {values}"
            for _, values in auds
            if policies.GITHUB_AUDIENCE not in values
        ]
    if subs:
        for (label, sub), why in zip(list(samples.items())[1:], WHY_NOT, strict=True):
            if admitted[label]:
                problems.append(f"it also admits {label} (sub '{sub}'): {why}")
    if not auds and not problems:
        problems.append(
            f"no {AUD} condition: IAM also checks the audience against the provider's client "
            f"IDs, but AWS's and GitHub's examples pin it to '{policies.GITHUB_AUDIENCE}', and "
            "so does the reference (plan would show a change)"
        )
    reference = policies.github_oidc_trust(provider_arn, repo, branch)
    if not problems and doc != reference:
        problems.append(
            "admits exactly aws.yml's run, but is written differently from the reference "
            f"(operator, list or layout); plan compares documents exactly: "
            f"{policies.to_json(reference)}"
        )
    return problems
