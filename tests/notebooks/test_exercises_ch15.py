"""Chapter 15's exercises check themselves: gate, ECR login, image URI and push-policy mistakes."""

import base64
import json

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.models import policies
from workbook import exercises
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
    assert work.summary() == "chapter 15: 4 exercises · 4 passed · 0 not done yet · 0 to fix"
    assert capsys.readouterr().out.count("passed") == 8
    assert ctx.client("ecr").describe_repositories()["repositories"] == []


def test_show_solution_prints_the_push_policy(capsys):
    """show_solution prints the stored policy, the login on "*" included."""
    exercises.show_solution("15-4")
    out = capsys.readouterr().out
    assert '"Action": "ecr:GetAuthorizationToken"' in out and '"Resource": "*"' in out
