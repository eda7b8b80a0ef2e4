"""Chapter 15's exercises (gate, ECR token, image URI, push policy, the service's network).

Also the helpers its by-hand ECS section uses: the AWS CLI run in the kernel, and the CLI's own
reading of an option's value.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shlex
from collections.abc import Sequence

from deploy.aws.errors import InvalidInput
from deploy.aws.names import StackNames
from deploy.models import leastpriv, policies
from deploy.resources import ecr, ecs_spec
from deploy.resources.outputs import AlbOutputs, NetworkOutputs
from service.aws import AwsContext
from workbook import aws_shim, compare
from workbook.exercises import Exercise

# ---- 15-1: the gate in front of billable work --------------------------------------------------

MINE, OTHER = "111122223333", "444455556666"  # the account you mean, and some other one
# (label, backend, account STS reports, expected account, CONFIRM): only the first may open.
GATE_CASES = (
    ("a real run in your account, confirmed", "aws", MINE, MINE, "yes"),
    ("credentials of another account, confirmed", "aws", OTHER, MINE, "yes"),
    ("no expected account set, confirmed", "aws", MINE, "", "yes"),
    ("your account, not confirmed", "aws", MINE, MINE, "no"),
    ("your account, CONFIRM 'y'", "aws", MINE, MINE, "y"),
    ("your account, CONFIRM True (not the word)", "aws", MINE, MINE, True),
    ("the emulator, confirmed", "moto", MINE, MINE, "yes"),
)
WHY_SHUT = {
    "credentials of another account, confirmed": "the keys in your environment belong to "
    "another account (a work profile, a colleague's keys, a stale AWS_PROFILE): the stack "
    "would be created, and billed, there. Compare the account STS reports with the expected one",
    "no expected account set, confirmed": "with no expected account there is nothing to check "
    "the credentials against: refuse until one is set, never trust whatever is loaded",
    "your account, not confirmed": "nobody said yes to the cost",
    "your account, CONFIRM 'y'": "only the exact word 'yes' opens it, so a typo, an "
    "abbreviation or a default never starts billable work",
    "your account, CONFIRM True (not the word)": "only the exact word 'yes' opens it: compare "
    "with == 'yes', not the value's truth (True, 'no' and 'y' are all truthy)",
    "the emulator, confirmed": "on moto nothing is billable, and the real branch would run "
    "docker push against an emulator that has no registry: the gate opens on backend 'aws' only",
}


def gate_opens(backend: str, account: str, expected_account: str, confirm: object) -> bool:
    """Return whether billable work may run (the reference for 15-1 and the chapter's fallback)."""
    return (
        backend == "aws"
        and bool(expected_account)
        and account == expected_account
        and confirm == "yes"
    )


def check_gate(answer: object) -> list[str]:
    """Check a gate function on every case: it opens only for a confirmed run in your account."""
    if not callable(answer):
        return ["the answer is the function open_gate(backend, account, expected_account, confirm)"]
    problems, odd = [], []
    for label, *case in GATE_CASES:
        try:
            got = answer(*case)
        except Exception as exc:  # the learner's code: its error is the feedback
            problems.append(f"{label}: your function raised {type(exc).__name__}: {exc}")
            continue
        if not isinstance(got, bool):
            odd.append(got)
        elif got and not gate_opens(*case):
            problems.append(f"{label}: it opened, and must refuse: {WHY_SHUT[label]}")
        elif not got and gate_opens(*case):
            problems.append(f"{label}: it refused the one case that must open")
    if odd:
        problems.insert(0, f"it returned {odd[0]!r}; return True (open) or False (refuse)")
    return problems


# ---- 15-2: the ECR authorization token ----------------------------------------------------------


def login_of(authorization_data: dict) -> tuple[str, str, str]:
    """Return (username, password, registry host) from one authorizationData entry."""
    decoded = base64.b64decode(authorization_data["authorizationToken"]).decode()
    username, _, password = decoded.partition(":")
    return username, password, authorization_data["proxyEndpoint"].removeprefix("https://")


def _shown(secret: str) -> str:
    """Return a secret as its first 4 characters and its length, never the whole of it."""
    return f"{secret[:4]!r}... ({len(secret)} characters)"


def _short(value: str, secret: str) -> str:
    """Return a value as it is, unless it holds the secret or is long: then its start and length."""
    return _shown(value) if secret in value or len(value) > 80 else repr(value)


def check_login(answer: object, authorization_data: dict) -> list[str]:
    """Check (username, password, registry) decoded from the token moto (or ECR) returned."""
    shape = "return a tuple of three strings: (username, password, registry)"
    if not isinstance(answer, tuple | list) or len(answer) != 3:
        return [shape]
    if any(isinstance(part, bytes) for part in answer):
        return ["b64decode returns bytes: .decode() them into text first"]
    if not all(isinstance(part, str) for part in answer):
        return [shape]
    username, password, registry = answer
    want_user, want_password, host = login_of(authorization_data)
    problems = []
    if password == authorization_data["authorizationToken"]:
        problems.append(
            "the password is still the base64 token: base64.b64decode it, then keep what follows "
            "'AWS:'; docker login would be refused (401 Unauthorized)"
        )
    elif password.startswith(f"{want_user}:"):
        problems.append(
            f"the password starts with {want_user + ':'!r}: the decoded token is "
            "'username:password', keep only what follows the first ':'"
        )
    elif password != want_password:
        problems.append(
            f"the password {_shown(password)} is not the token's, {_shown(want_password)}: "
            "split the decoded text at its first ':'"
        )
    secrets = {want_password, authorization_data["authorizationToken"]}
    if username in secrets or registry in secrets:
        problems.append(
            "the password (or the token) sits in another slot: the order is (username, "
            "password, registry), as docker login takes them"
        )
        return problems
    if username != want_user:
        problems.append(
            f"the username is the literal {want_user!r} (the part before ':'), got "
            f"{_short(username, want_password)}: docker login --username AWS"
        )
    if registry.startswith(("https://", "http://")):
        problems.append(
            f"drop the scheme: the registry is {host}. docker login accepts a URL, but an image "
            "reference cannot hold one (docker tag ... https://... is an invalid reference format)"
        )
    elif registry != host:
        problems.append(
            f"the registry is the host of proxyEndpoint, {host} (no path, no trailing /), "
            f"got {_short(registry, want_password)}"
        )
    return problems


# ---- 15-3: the image URI ------------------------------------------------------------------------

_HOST = re.compile(r"^(?P<account>[^.]*)\.dkr\.ecr\.(?P<region>[^.]*)\.amazonaws\.com$")


def check_image_uri(answer: object, ctx: AwsContext, names: StackNames, tag: str) -> list[str]:
    """Check ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG against this account and region."""
    want = ecr.image_uri(ecr.repository_uri(ctx, names), tag)
    if not isinstance(answer, str):
        return [f"return the image URI as a string, like {want}"]
    if answer.startswith(("https://", "http://")):
        return ["no scheme: an image reference is host/repository:tag, docker adds the https"]
    if "@" in answer:
        return [
            "that names a digest: this exercise asks for the tag the push writes (a release then "
            "pins the digest ECR reports, ecr.pinned_uri)"
        ]
    host, _, rest = answer.partition("/")
    repository, colon, got_tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
    problems = []
    found = _HOST.match(host)
    if found is None:
        problems.append(
            f"the registry host is ACCOUNT.dkr.ecr.REGION.amazonaws.com "
            f"({want.split('/')[0]}), got {host!r}: dkr is the registry, ecr.REGION.amazonaws.com "
            "is the API, and each account and region has its own registry"
        )
    else:
        account, region = found["account"], found["region"]
        if not re.fullmatch(r"\d{12}", account):
            problems.append(
                f"the registry starts with the 12-digit account id, "
                f"sts.get_caller_identity()['Account'], not {account[:24]!r} (UserId and Arn are "
                "who you are, not the account)"
            )
        elif account != ctx.account_id:
            problems.append(
                f"account {account} is not the one your credentials reach ({ctx.account_id}): "
                "ask STS, do not type it"
            )
        if region != ctx.region:
            problems.append(
                f"region {region!r}: the repository lives in {ctx.region}; a push to another "
                "region's registry fails with 'name unknown: The repository with name ... does "
                "not exist'"
            )
    if repository.startswith("arn:"):
        problems.append(
            f"the repository goes by its name, {names.repository!r}: an ARN is IAM's name for "
            "it, and docker reads an image name, not an ARN"
        )
    elif repository != names.repository:
        problems.append(f"the repository is {names.repository!r}, got {repository!r}")
    if not colon or got_tag == "latest":
        problems.append(
            f"{'no tag, so docker uses :latest' if not colon else 'the tag latest'}: on the "
            "IMMUTABLE repository the second push of latest is refused "
            "(ImageTagAlreadyExistsException), and on a mutable one latest moves, so a task "
            f"definition naming it cannot say which build runs; tag with the commit, {tag[:12]}"
        )
    elif got_tag != tag:
        problems.append(f"the tag is {got_tag!r}; the image to push is tagged {tag!r}")
    if not problems and answer != want:
        problems.append(f"expected {want}, got {answer}")
    return problems


# ---- 15-4: the CI principal's push policy -------------------------------------------------------

LOGIN = "ecr:GetAuthorizationToken"
# What each push call does (policies.ECR_PUSH_ACTIONS lists them; the deploy's CI policy too).
PUSH_STEP = {
    "ecr:BatchCheckLayerAvailability": "ask which layers the repository already holds",
    "ecr:BatchGetImage": "read the tag's manifest first (the pusher checks what is there)",
    "ecr:InitiateLayerUpload": "start uploading each new layer",
    "ecr:UploadLayerPart": "upload the layers' chunks",
    "ecr:CompleteLayerUpload": "finish each layer's upload",
    "ecr:PutImage": "write the manifest under the tag, the step that makes the image exist",
}
# Rights a pusher must not have on the repository, and what a leaked CI key could then do.
HARMFUL = {
    "ecr:BatchDeleteImage": "delete the images tasks are running from",
    "ecr:DeleteRepository": "delete the repository and every image in it",
    "ecr:PutImageTagMutability": "switch tag immutability off and overwrite a released tag",
    "ecr:SetRepositoryPolicy": "give another account access to the images",
    "ecr:DeleteLifecyclePolicy": "stop old images from expiring (storage bills grow)",
}
OUTSIDE = (("iam:CreateUser", "arn:aws:iam::{account}:user/intruder"), ("s3:GetObject", "*"))


def _listed(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _statements(doc: dict) -> list[dict]:
    return [s for s in _listed(doc.get("Statement")) if isinstance(s, dict)]


def _shape_problems(doc: object) -> list[str]:
    if not isinstance(doc, dict) or not _statements(doc):
        return ['the answer is a policy document: {"Version": ..., "Statement": [...]}']
    for s in _statements(doc):
        for key in ("Action", "Resource"):
            if key in s and not all(isinstance(v, str) for v in _listed(s[key])):
                return [f"each statement's {key} is a string or a list of strings"]
    problems = []
    if doc.get("Version") != policies.VERSION:
        problems.append(
            f"Version must be {policies.VERSION!r}; without it IAM reads the 2008 language, "
            "which has no policy variables"
        )
    for s in _statements(doc):
        if "Principal" in s or "NotPrincipal" in s:
            problems.append(
                "an identity policy (attached to the CI role or user) has no Principal: that "
                "element belongs to resource and trust policies (MalformedPolicyDocument)"
            )
        if "NotAction" in s or "NotResource" in s:
            problems.append("use Action and Resource: an Allow with NotAction grants all the rest")
        if "Action" not in s or "Resource" not in s:
            problems.append("each statement needs an Action and a Resource")
        if s.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"each statement's Effect is Allow or Deny, got {s.get('Effect')!r}")
    return problems


def _named(doc: dict, action: str) -> list[str]:
    """Return the resources of Allow statements that name `action` literally."""
    return [
        r
        for s in _statements(doc)
        if s.get("Effect") == "Allow" and action in _listed(s.get("Action"))
        for r in _listed(s.get("Resource"))
    ]


def _wide_actions(doc: dict) -> list[str]:
    problems = []
    for s in _statements(doc):
        actions = _listed(s.get("Action"))
        if s.get("Effect") == "Allow" and "*" in actions:
            problems.append("Action '*' is every action of every service: an administrator key")
        elif s.get("Effect") == "Allow" and "ecr:*" in actions:
            problems.append(
                "ecr:* also grants ecr:DeleteRepository, ecr:BatchDeleteImage and "
                "ecr:PutImageTagMutability: a leaked CI key could delete the images tasks run "
                "from, or switch immutability off; list the push actions"
            )
    return problems


def check_push_policy(answer: object, repository_arn: str) -> list[str]:
    """Check a push-only policy: login on '*', the push calls on this repository, nothing else."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError as exc:
            return [f"the policy text is not JSON ({exc}); give the document as a dict"]
    problems = _shape_problems(answer)
    if problems:
        return problems
    account, region = repository_arn.split(":")[4], repository_arn.split(":")[3]
    other = f"arn:aws:ecr:{region}:{account}:repository/other-repo"

    def allows(action: str, resource: str) -> bool:
        return leastpriv.allows(answer, action, resource)

    try:
        allows(LOGIN, "*")
    except InvalidInput as exc:
        return [str(exc)]
    problems = _wide_actions(answer)
    if not allows(LOGIN, "*"):
        scoped = [r for r in _named(answer, LOGIN) if r != "*"]
        problems.append(
            f"{LOGIN} on {scoped[0]}: it has no resource to scope, IAM matches it only with "
            "Resource '*' (the token opens the registry; each push call is still checked "
            "against its repository), so docker login fails with AccessDenied"
            if scoped
            else f"without {LOGIN}, aws ecr get-login-password is denied: no docker login, no "
            "push; give it Resource '*', it cannot be scoped"
        )
    registry = f"{account}.dkr.ecr.{region}.amazonaws.com"
    at_uri = []
    for action, step in PUSH_STEP.items():
        if allows(action, repository_arn):
            continue
        named = _named(answer, action)
        if any(r.startswith(registry) for r in named):
            at_uri.append(action)
        elif named:
            problems.append(
                f"{action} is allowed on {named} but not on this repository, {repository_arn}: "
                f"the push could not {step}"
            )
        else:
            problems.append(f"{action} is missing: docker push needs it to {step}")
    if at_uri:
        problems.append(
            f"{', '.join(at_uri)} name(s) the repository URI, what docker uses; IAM names the "
            f"repository by its ARN, {repository_arn}"
        )
    if any(allows(a, other) for a in PUSH_STEP):
        problems.append(
            f"the push actions reach other repositories too (Resource '*' or repository/*): "
            f"this principal pushes to one, so scope them to {repository_arn}"
        )
    if not any("ecr:*" in p or "Action '*'" in p for p in problems):
        problems += [
            f"it also grants {action}: a leaked CI key could {harm}"
            for action, harm in HARMFUL.items()
            if allows(action, repository_arn)
        ]
        problems += [
            f"it grants {action}, which has nothing to do with pushing an image"
            for action, template in OUTSIDE
            if allows(action, template.format(account=account))
        ]
    return problems


# ---- the ECS layer by hand: the AWS CLI in the kernel --------------------------------------------


class CliError(RuntimeError):
    """An AWS CLI command exited with a non-zero status; the message is what it printed."""


def shell_line(args: Sequence[str]) -> str:
    """Return `aws <args>` as a terminal line, one option per line, quoted for the shell."""
    parts, current = [], ["aws"]
    for word in map(shlex.quote, args):
        if word.startswith("--"):  # each option starts a line
            parts.append(" ".join(current))
            current = []
        current.append(word)
    parts.append(" ".join(current))
    return " \\\n    ".join(parts)


def aws_cli(args: Sequence[str], *, show: bool = True) -> dict:
    """Print `aws <args>` as typed, run it with the AWS CLI's own driver here, return its JSON."""
    if show:
        print("$", shell_line(args))
    # the environment setup() exported picks the account, as for `!aws ...`
    status, out, err = aws_shim.run([*args, "--output", "json"], dict(os.environ), os.getcwd())
    if status:
        said = err.decode("utf-8", "replace").strip()
        if "usage:" in said:  # argparse's usage text: its last line names what was wrong
            said = said.splitlines()[-1]
        raise CliError(f"aws {' '.join(args[:2])} exited {status}: {said}")
    return json.loads(out or b"{}")


@functools.cache
def _cli_argument(service: str, operation: str, option: str):
    """Return the AWS CLI's argument object for `aws SERVICE OPERATION --OPTION`."""
    from awscli.clidriver import create_clidriver

    commands = create_clidriver()._get_command_table()[service]._get_command_table()
    return commands[operation].arg_table[option]


def cli_value(service: str, operation: str, option: str, text: str) -> object:
    """Return the API value the AWS CLI makes of `--option text` (shorthand or JSON)."""
    argument, params = _cli_argument(service, operation, option), {}
    try:
        argument.add_to_params(params, text)
    except Exception as exc:  # the CLI's own ParamError: its message shows where
        raise ValueError(str(exc)) from exc
    (value,) = params.values()  # keyed by the API's name for the option
    return json.loads(json.dumps(value))  # plain dicts and lists, as the API returns them


# ---- 15-5: the service's --network-configuration -------------------------------------------------

# A network to check answers on where no stack exists (real AWS with the gate shut).
EXAMPLE_NETWORK = NetworkOutputs(
    vpc_id="vpc-0example",
    subnet_ids=("subnet-0aaa1111example", "subnet-0bbb2222example"),
    alb_security_group_id="sg-0alb0example",
    task_security_group_id="sg-0task0example",
)


def reference_network(subnets: Sequence[str], security_group: str) -> dict:
    """Return the package's networkConfiguration for these subnets and this task group."""
    network = NetworkOutputs("vpc", tuple(subnets), "sg-alb", security_group)
    return ecs_spec.service_settings(StackNames(), network, AlbOutputs("", "", ""))[
        "networkConfiguration"
    ]


def network_argument(subnets: Sequence[str], security_group: str) -> str:
    """Return the reference's --network-configuration in the CLI's shorthand (the fallback)."""
    vpc = reference_network(subnets, security_group)["awsvpcConfiguration"]
    return (
        f"awsvpcConfiguration={{subnets=[{','.join(vpc['subnets'])}],"
        f"securityGroups=[{','.join(vpc['securityGroups'])}],"
        f"assignPublicIp={vpc['assignPublicIp']}}}"
    )


AWSVPC_FIELDS = ("subnets", "securityGroups", "assignPublicIp")


def check_network(
    answer: object, subnets: Sequence[str], security_group: str, names: StackNames
) -> list[str]:
    """Check a --network-configuration value as the CLI reads it, against the reference."""
    if not isinstance(answer, str):
        return [
            "return the option's value as one string, as you would type it after "
            "--network-configuration: awsvpcConfiguration={subnets=[...],...}"
        ]
    if answer.lstrip().startswith("--"):
        return ["only the value: the command line already has --network-configuration before it"]
    try:
        have = cli_value("ecs", "create-service", "network-configuration", answer)
    except ValueError as exc:
        return [f"the AWS CLI cannot read it: {exc}"]
    want = reference_network(subnets, security_group)
    if not isinstance(have, dict) or set(have) != {"awsvpcConfiguration"}:
        return [
            f"the value is awsvpcConfiguration={{...}}, got the keys {sorted(have or {})}: a "
            "Fargate task always gets its own network interface (awsvpc), and create-service "
            "refuses a Fargate service without this block"
        ]
    cfg, ref = dict(have["awsvpcConfiguration"] or {}), want["awsvpcConfiguration"]
    problems = [
        f"awsvpcConfiguration has no field {key!r} (the fields are {', '.join(AWSVPC_FIELDS)}): "
        "the CLI sends it and the request is refused as an unknown parameter"
        for key in sorted(set(cfg) - set(AWSVPC_FIELDS))
    ]
    public = cfg.get("assignPublicIp")
    if public is None:
        cfg["assignPublicIp"] = "DISABLED"  # what ECS does when the field is left out
        problems.append("no assignPublicIp: ECS then uses DISABLED")
    elif public != public.upper() and public.upper() in ("ENABLED", "DISABLED"):
        problems.append(
            f"assignPublicIp is {public!r}: ECS takes the exact words ENABLED or DISABLED and "
            "refuses any other spelling (InvalidParameterException)"
        )
        cfg["assignPublicIp"] = public.upper()
    got = sorted(cfg.get("subnets") or [])
    if len(got) == len(ref["subnets"]) and got != ref["subnets"]:
        problems.append(
            f"subnets {got} are not the stack's, {ref['subnets']}: use the ids the network step "
            "found (the ALB routes only to targets in its own subnets' zones)"
        )
    cfg["subnets"] = got
    mine = {"awsvpcConfiguration": {k: cfg.get(k) for k in AWSVPC_FIELDS}}
    if mine != want:
        explain = compare.EXPLAINERS[("ecs-service", "networkConfiguration")]
        found = explain(mine, want, names.service, names)
        problems += [p for p in found if not p.startswith("is {")]
    return problems


EXERCISES = [
    Exercise(
        "15-1",
        "Complete open_gate(backend, account, expected_account, confirm): True only for a "
        "run on real AWS, in the expected account, confirmed with the word yes; else False.",
        check_gate,
    ),
    Exercise(
        "15-2",
        "Complete login(authorization_data): decode one entry of get_authorization_token into "
        "(username, password, registry), the three things docker login takes.",
        check_login,
        args=("authorization_data",),
    ),
    Exercise(
        "15-3",
        "Complete image_uri(sts, region, repository, tag): the full ECR image URI, with the "
        "account from STS.",
        check_image_uri,
        args=("sts", "region", "repository", "tag"),
    ),
    Exercise(
        "15-4",
        "Write the identity policy that lets the CI principal push to this one repository "
        "(repository_arn) and do nothing else.",
        check_push_policy,
    ),
    Exercise(
        "15-5",
        "Complete network_configuration(subnets, security_group): the value of create-service's "
        "--network-configuration, in the AWS CLI's shorthand, as the package's reference sets it.",
        check_network,
        args=("subnets", "security_group"),
    ),
]
