"""Chapter 15's exercises check themselves: gate, ECR login, image URI, push policy, network."""

import base64
import json

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.models import policies
from workbook import compare, exercises
from workbook.checks import ch15
from workbook.solutions import ch15 as solved

ACCOUNT, REGION, TAG = "123456789012", "us-east-1", "5418d799d62e1d7abc7fe847e411b1d4"
REPO = policies.arns(names, ACCOUNT, REGION)["repository"]
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 15 with the given context."""
    exercise = exercises.exercises_of("15")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _text(outcome) -> str:
    return "\n".join(outcome.messages)


def _wrong(exercise_id, answer, expected, **context):
    """Assert the answer is to fix and the feedback names the mistake."""
    outcome = _check(exercise_id, answer, **context)
    assert outcome.status == "to fix", outcome
    assert expected in _text(outcome), outcome.messages
    return outcome


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("15")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_shipped_blanks_are_blanks():
    """The notebook's blank shapes (a return of ..., a partition(...), a policy of ...) wait."""

    def open_gate(backend, account, expected_account, confirm):
        return ...

    def login(authorization_data):
        decoded = ...
        username, _, password = decoded.partition(...)
        registry = ...
        return username, password, registry

    policy = {"Version": "2012-10-17", "Statement": [{"Action": [...], "Resource": ...}]}
    assert all(exercises.is_blank(a) for a in (open_gate, login, policy))
    assert not exercises.is_blank(solved.gate_function())
    assert not exercises.is_blank(solved.push_policy(REPO))


# ---- 15-1: the gate ------------------------------------------------------------------------------


def test_the_gate_solution_passes_and_agrees_with_the_reference():
    """The stored gate opens exactly where the chapter's fallback does: one case of seven."""
    gate = solved.gate_function()
    assert _check("15-1", gate).passed
    opened = [label for label, *case in ch15.GATE_CASES if gate(*case)]
    assert opened == ["a real run in your account, confirmed"]
    assert all(gate(*case) == ch15.gate_opens(*case) for _, *case in ch15.GATE_CASES)


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        (lambda b, a, e, c: b == "aws" and c == "yes", "belong to another account"),
        (
            lambda b, a, e, c: b == "aws" and (not e or a == e) and c == "yes",
            "nothing to check the credentials against",
        ),
        (
            lambda b, a, e, c: b == "aws" and bool(e) and a == e and c not in ("no", ""),
            "CONFIRM 'y': it opened, and must refuse: only the exact word 'yes'",
        ),
        (
            lambda b, a, e, c: bool(e) and a == e and c == "yes",
            "the gate opens on backend 'aws' only",
        ),
        (
            lambda b, a, e, c: b == "aws" and e and a == e and c == "yes",
            "it returned ''; return True (open) or False (refuse)",
        ),
        (lambda b, a, e, c: False, "it refused the one case that must open"),
        (lambda b, a, e, c: int(a) == int(e) and c == "yes", "your function raised ValueError"),
        ("yes", "the answer is the function open_gate"),
    ],
    ids=["no-account", "empty-expected", "truthy-confirm", "no-backend", "not-bool", "never",
         "raises", "not-a-function"],
)  # fmt: skip
def test_gate_check_names_the_case_it_gets_wrong(gate, expected):
    """Each typical gate mistake is named with the case it lets through and why that bills."""
    _wrong("15-1", gate, expected)


# ---- 15-2: the ECR token (moto) ------------------------------------------------------------------


@pytest.fixture
def auth(ctx) -> dict:
    """Return moto's real get_authorization_token entry for the test account."""
    return ctx.client("ecr").get_authorization_token()["authorizationData"][0]


def test_login_solution_passes_on_motos_token(auth):
    """The stored decode passes and gives docker login's three values."""
    assert _check("15-2", solved.login, authorization_data=auth).passed
    user, password, registry = solved.login(auth)
    assert (user, registry) == ("AWS", REGISTRY)
    assert password and password == ch15.login_of(auth)[1]


def _decoded(auth) -> str:
    return base64.b64decode(auth["authorizationToken"]).decode()


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        (
            lambda d: ("AWS", d["authorizationToken"], REGISTRY),
            "the password is still the base64 token",
        ),
        (lambda d: ("AWS", _decoded(d), REGISTRY), "keep only what follows the first ':'"),
        (
            lambda d: (*base64.b64decode(d["authorizationToken"]).split(b":"), REGISTRY.encode()),
            "b64decode returns bytes: .decode() them",
        ),
        (lambda d: ("AWS", *_decoded(d).split(":")[1:], d["proxyEndpoint"]), "drop the scheme"),
        (
            lambda d: ("AWS", _decoded(d).split(":")[1], f"{REGISTRY}/llmops"),
            "the registry is the host of proxyEndpoint",
        ),
        (lambda d: ("aws", _decoded(d).split(":")[1], REGISTRY), "the username is the literal"),
        (lambda d: ("AWS", _decoded(d)), "a tuple of three strings"),
        (lambda d: d["token"], "your function raised KeyError"),
    ],
    ids=["base64", "with-user", "bytes", "https", "with-path", "username", "pair", "raises"],
)
def test_login_check_names_the_decoding_mistake(auth, login, expected):
    """Each typical decoding mistake gets its own diagnosis, checked on moto's token."""
    _wrong("15-2", login, expected, authorization_data=auth)


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        (lambda d, pw: ("AWS", pw[::-1], REGISTRY), "is not the token's"),
        (lambda d, pw: (pw, "AWS", REGISTRY), "sits in another slot"),
        (lambda d, pw: ("AWS", "x", pw), "sits in another slot"),
        (lambda d, pw: (_decoded(d), pw, REGISTRY), "the username is the literal"),
        (lambda d, pw: ("AWS", pw, f"{REGISTRY}/{pw}"), "the registry is the host"),
    ],
    ids=["reversed", "password-first", "password-last", "decoded-user", "registry-path"],
)
def test_login_feedback_never_shows_the_password(auth, login, expected):
    """Wrong answers holding the password are named by its start and length, never whole."""
    real = ch15.login_of(auth)[1]
    outcome = _wrong("15-2", lambda d: login(d, real), expected, authorization_data=auth)
    assert real not in _text(outcome) and real[::-1] not in _text(outcome)


# ---- 15-3: the image URI (moto's STS) ------------------------------------------------------------


def _uri_context(ctx) -> dict:
    sts = ctx.client("sts")
    return {
        "ctx": ctx,
        "sts": sts,
        "region": ctx.region,
        "repository": names.repository,
        "tag": TAG,
    }


def test_image_uri_solution_passes_and_matches_the_package(ctx):
    """The stored image_uri passes and equals what deploy.resources.ecr builds."""
    context = _uri_context(ctx)
    assert _check("15-3", solved.image_uri, **context).passed
    uri = solved.image_uri(context["sts"], ctx.region, names.repository, TAG)
    assert uri == f"{REGISTRY}/{names.repository}:{TAG}"


def _uri(template: str):
    """Return a learner function formatting `template` with account, user, region, repo, tag."""

    def image_uri(sts, region, repository, tag):
        me = sts.get_caller_identity()
        return template.format(
            account=me["Account"], user=me["UserId"], region=region, repo=repository, tag=tag
        )

    return image_uri


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{user}.dkr.ecr.{region}.amazonaws.com/{repo}:{tag}", "the 12-digit account id"),
        ("{account}.dkr.ecr.amazonaws.com/{repo}:{tag}", "the registry host is ACCOUNT.dkr.ecr"),
        ("{account}.ecr.{region}.amazonaws.com/{repo}:{tag}", "dkr is the registry"),
        ("{account}.dkr.ecr.eu-west-1.amazonaws.com/{repo}:{tag}", "region 'eu-west-1'"),
        ("210987654321.dkr.ecr.{region}.amazonaws.com/{repo}:{tag}", "ask STS, do not type it"),
        ("{account}.dkr.ecr.{region}.amazonaws.com/{repo}", "no tag, so docker uses :latest"),
        ("{account}.dkr.ecr.{region}.amazonaws.com/{repo}:latest", "ImageTagAlreadyExists"),
        ("{account}.dkr.ecr.{region}.amazonaws.com/{repo}:a5d7f3b", "the image to push is tagged"),
        ("https://{account}.dkr.ecr.{region}.amazonaws.com/{repo}:{tag}", "no scheme"),
        ("{account}.dkr.ecr.{region}.amazonaws.com/" + REPO + ":{tag}", "an ARN is IAM's name"),
        ("{account}.dkr.ecr.{region}.amazonaws.com/{repo}@sha256:ab12", "that names a digest"),
    ],
    ids=["user-id", "no-region", "no-dkr", "other-region", "typed-account", "no-tag", "latest",
         "other-tag", "scheme", "arn", "digest"],
)  # fmt: skip
def test_image_uri_check_names_the_missing_part(ctx, template, expected):
    """A missing or wrong account, region, repository or tag is named with why it fails."""
    _wrong("15-3", _uri(template), expected, **_uri_context(ctx))


def test_image_uri_that_is_not_a_string_is_named(ctx):
    """A function returning the parts instead of one string is told the shape."""
    _wrong(
        "15-3",
        lambda sts, region, repository, tag: (region, tag),
        "as a string",
        **_uri_context(ctx),
    )


# ---- 15-4: the push policy (moto's IAM policy engine, offline) -----------------------------------


def _doc(*statements, version="2012-10-17") -> dict:
    doc = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return doc


def _allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


LOGIN = _allow("ecr:GetAuthorizationToken", "*")
PUSH = policies.ECR_PUSH_ACTIONS


def test_push_policy_solution_passes_as_a_dict_and_as_json():
    """The stored push policy passes, also as the JSON text IAM stores."""
    assert _check("15-4", solved.push_policy(REPO), repository_arn=REPO).passed
    assert _check("15-4", json.dumps(solved.push_policy(REPO)), repository_arn=REPO).passed


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (_doc(_allow("ecr:*", "*")), "ecr:* also grants ecr:DeleteRepository"),
        (_doc(_allow("ecr:*", REPO)), "switch immutability off"),
        (_doc(_allow("*", "*")), "every action of every service"),
        (_doc(LOGIN, _allow(PUSH, "*")), "reach other repositories too (Resource '*'"),
        (_doc(LOGIN, _allow(PUSH, REPO.rsplit("/", 1)[0] + "/*")), "reach other repositories"),
        (_doc(_allow(["ecr:GetAuthorizationToken", *PUSH], REPO)), "it has no resource to scope"),
        (_doc(_allow(PUSH, REPO)), "without ecr:GetAuthorizationToken"),
        (_doc(LOGIN, _allow(PUSH[:-1], REPO)), "ecr:UploadLayerPart is missing"),
        (
            _doc(LOGIN, _allow([a for a in PUSH if a != "ecr:PutImage"], REPO)),
            "ecr:PutImage is missing: docker push needs it to write the manifest",
        ),
        (_doc(LOGIN, _allow(PUSH, f"{REGISTRY}/llmops")), "name(s) the repository URI"),
        (_doc(LOGIN, _allow(PUSH, REPO + "-old")), "but not on this repository"),
        (_doc(LOGIN, _allow([*PUSH, "ecr:BatchDeleteImage"], REPO)), "grants ecr:BatchDeleteImage"),
        (_doc(LOGIN, _allow(PUSH, REPO), _allow("s3:GetObject", "*")), "nothing to do with"),
        (_doc(LOGIN, _allow(PUSH, REPO), version=None), "Version must be '2012-10-17'"),
        (_doc(_allow("ecr:GetAuthorizationToken", "*", Principal="*"), _allow(PUSH, REPO)),
         "has no Principal"),
        (_doc(LOGIN, _allow(PUSH, REPO.replace("llmops", "llm??ps"))), "'?' wildcard"),
        ("{not json", "not JSON"),
        ([LOGIN], "the answer is a policy document"),
    ],
    ids=["ecr-star", "ecr-star-on-repo", "star", "push-on-star", "repository-star",
         "login-scoped", "no-login", "no-upload-part", "no-put-image", "uri", "other-repo",
         "delete", "s3", "no-version", "principal", "question-mark", "bad-json", "list"],
)  # fmt: skip
def test_push_policy_check_names_the_excess_or_the_gap(policy, expected):
    """Too wide, unscopable-scoped, missing or misaddressed rights: each named with its effect."""
    _wrong("15-4", policy, expected, repository_arn=REPO)


# ---- 15-5: the service's --network-configuration (the AWS CLI's own parser) ----------------------

NET = ch15.EXAMPLE_NETWORK
SUBNETS, TASK_SG = list(NET.subnet_ids), NET.task_security_group_id
NETWORK = {"subnets": SUBNETS, "security_group": TASK_SG}
BOTH = ",".join(SUBNETS)


def _shorthand(subnets=BOTH, groups=TASK_SG, public="ENABLED", extra=""):
    """Return a learner function answering awsvpcConfiguration={...} with these parts."""
    tail = f",assignPublicIp={public}" if public else ""
    text = f"awsvpcConfiguration={{subnets=[{subnets}],securityGroups=[{groups}]{tail}{extra}}}"
    return lambda subnets, security_group: text


def test_network_solution_passes_and_is_the_reference():
    """The stored answer passes; the CLI reads it as the package's networkConfiguration."""
    assert _check("15-5", solved.network_configuration, **NETWORK).passed
    text = solved.network_configuration(SUBNETS, TASK_SG)
    read = ch15.cli_value("ecs", "create-service", "network-configuration", text)
    assert read == ch15.reference_network(SUBNETS, TASK_SG)
    assert text == ch15.network_argument(SUBNETS, TASK_SG)  # the chapter's fallback


def test_network_as_json_passes_too():
    """The CLI takes JSON for the same option: the check reads it the same way."""
    answer = json.dumps(ch15.reference_network(SUBNETS, TASK_SG))
    assert _check("15-5", lambda subnets, security_group: answer, **NETWORK).passed


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_shorthand(subnets=SUBNETS[0]), "1 subnet(s): the service can place tasks in one "
         "Availability Zone only"),
        (_shorthand(public="DISABLED"), "assignPublicIp is DISABLED: in the default VPC's public "
         "subnets without a NAT gateway"),
        (_shorthand(public=""), "no assignPublicIp: ECS then uses DISABLED"),
        (_shorthand(public="enabled"), "the exact words ENABLED or DISABLED"),
        (_shorthand(groups=NET.alb_security_group_id), "the tasks need the task group"),
        (_shorthand(subnets="subnet-1,subnet-2"), "are not the stack's"),
        (_shorthand(extra=",vpc=vpc-1"), "awsvpcConfiguration has no field 'vpc'"),
        (lambda subnets, security_group: f"subnets=[{','.join(subnets)}]",
         "the value is awsvpcConfiguration={...}"),
        (lambda subnets, security_group: "awsvpcConfiguration={subnets=[a,b]",
         "the AWS CLI cannot read it"),
        (lambda subnets, security_group: "--network-configuration awsvpcConfiguration={}",
         "only the value"),
        (lambda subnets, security_group: {"awsvpcConfiguration": {}}, "as one string"),
        (lambda subnets, security_group: subnets[2], "your function raised IndexError"),
    ],
    ids=["one-subnet", "no-public-ip", "public-ip-left-out", "lower-case", "alb-group",
         "other-subnets", "unknown-field", "no-awsvpc", "unparsable", "option-name", "dict",
         "raises"],
)  # fmt: skip
def test_network_check_names_what_breaks(answer, expected):
    """Each typical network mistake is named with what it breaks, as the compare cell says it."""
    _wrong("15-5", answer, expected, **NETWORK)


def test_one_subnet_and_no_public_ip_are_both_named():
    """Two mistakes in one answer: both findings, each once."""
    outcome = _wrong("15-5", _shorthand(subnets=SUBNETS[1], public="DISABLED"), "1 subnet(s)",
                     **NETWORK)  # fmt: skip
    assert len(outcome.messages) == 2 and "CannotPullContainerError" in outcome.messages[1]


# ---- the by-hand ECS layer: the AWS CLI in the kernel, checked by compare ------------------------


def test_shell_line_quotes_and_puts_one_option_per_line():
    """The printed command is what a terminal takes: shorthand with braces is quoted."""
    line = ch15.shell_line(["ecs", "create-service", "--enable-ecs-managed-tags", "--tags",
                            "key=a,value=b", "--network-configuration", "x={subnets=[a]}"])  # fmt: skip
    assert line.splitlines() == [
        "aws ecs create-service \\",
        "    --enable-ecs-managed-tags \\",
        "    --tags key=a,value=b \\",
        "    --network-configuration 'x={subnets=[a]}'",
    ]


@pytest.fixture
def cli_env(ctx, monkeypatch):
    """Export the test account for the AWS CLI, as the chapter's setup() does."""
    for key, value in ctx.environment().items():
        monkeypatch.setenv(key, value)
    return ctx


def test_cli_cluster_without_container_insights_is_named_by_compare(cli_env, capsys):
    """A cluster made with the CLI but without --settings: compare names the missing setting."""
    made = ch15.aws_cli(["ecs", "create-cluster", "--cluster-name", names.cluster,
                         "--capacity-providers", "FARGATE", "FARGATE_SPOT",
                         "--default-capacity-provider-strategy",
                         "capacityProvider=FARGATE,weight=1,base=1",
                         "--tags", "key=Project,value=ecs-workbook"])  # fmt: skip
    assert capsys.readouterr().out.startswith("$ aws ecs create-cluster \\\n")
    assert made["cluster"]["status"] == "ACTIVE"
    found = compare.against_reference(cli_env, names, {"ecs": [names.cluster]})
    assert [f.field for f in found.findings] == ["settings"], found
    assert "containerInsights" in str(found)


def test_cli_errors_raise_with_the_clis_message(cli_env):
    """A command the service refuses raises CliError carrying what the CLI printed."""
    with pytest.raises(ch15.CliError, match="ClusterNotFoundException"):
        ch15.aws_cli(["ecs", "describe-services", "--cluster", "nope", "--services", "x"],
                     show=False)  # fmt: skip
    with pytest.raises(ch15.CliError, match=r"exited 255: Unknown options: --no-such-option$"):
        ch15.aws_cli(["ecs", "create-cluster", "--no-such-option"], show=False)


# ---- the whole chapter ---------------------------------------------------------------------------


def test_solutions_pass_twice_in_one_workbook(ctx, auth, capsys):
    """With solutions injected every check passes, a second run too; nothing is created."""
    work = exercises.chapter("15", solutions=True, ctx=ctx, names=names)
    context = {k: v for k, v in _uri_context(ctx).items() if k != "ctx"}
    for _ in range(2):
        work.check("15-1", ...)
        work.check("15-2", ..., authorization_data=auth)
        work.check("15-3", ..., **context)
        work.check("15-4", ..., repository_arn=REPO)
        work.check("15-5", ..., **NETWORK)
    assert work.summary() == "chapter 15: 5 exercises · 5 passed · 0 not done yet · 0 to fix"
    assert capsys.readouterr().out.count("passed") == 10
    assert ctx.client("ecr").describe_repositories()["repositories"] == []


def test_show_solution_prints_the_push_policy(capsys):
    """show_solution prints the stored policy, the login on "*" included."""
    exercises.show_solution("15-4")
    out = capsys.readouterr().out
    assert '"Action": "ecr:GetAuthorizationToken"' in out and '"Resource": "*"' in out
