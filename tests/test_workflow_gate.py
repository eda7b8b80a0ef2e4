"""The deploy gate in aws.yml: only a successful CI run on a push to this repository's main deploys.

The job's `if:` is read from the workflow file and evaluated (tests/actions_expr.py) against
`workflow_run` payloads shaped like the ones GitHub sends, including a fork's pull request
from a branch named main, which the `branches: [main]` filter alone lets through.
"""

import copy
from pathlib import Path

import pytest
import yaml

from tests.actions_expr import UnsupportedExpression, condition_passes, evaluate

ROOT = Path(__file__).resolve().parents[1]
REPO = "acme/ecs-workbook"
REQUIRED = (
    "github.event.workflow_run.conclusion == 'success'",
    "github.event.workflow_run.event == 'push'",
    "github.event.workflow_run.head_branch == 'main'",
    "github.event.workflow_run.head_repository.full_name == github.repository",
)


def _aws() -> dict:
    wf = yaml.safe_load((ROOT / ".github/workflows/aws.yml").read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    return wf


def _gate() -> str:
    (job,) = _aws()["jobs"].values()
    return str(job["if"])


def _ci_run(**changes) -> dict:
    """Return the context of aws.yml started by a successful CI run on a push to main."""
    run = {
        "conclusion": "success",
        "event": "push",
        "head_branch": "main",
        "head_sha": "0" * 40,
        "head_repository": {"full_name": REPO},
        "repository": {"full_name": REPO},
    }
    run.update(changes)
    return {
        "github": {
            "event_name": "workflow_run",
            "repository": REPO,
            "ref": "refs/heads/main",  # workflow_run jobs run on the default branch
            "event": {"action": "completed", "workflow_run": run},
        }
    }


def _dispatch(ref: str) -> dict:
    return {"github": {"event_name": "workflow_dispatch", "repository": REPO, "ref": ref}}


# ---------------------------------------------------------------- the gate in aws.yml


def test_the_gate_names_every_condition_and_keeps_the_branch_filter():
    gate = " ".join(_gate().split())
    for condition in REQUIRED:
        assert condition in gate, condition
    assert _aws()["on"]["workflow_run"]["branches"] == ["main"]


def test_a_successful_push_to_main_in_this_repository_deploys():
    assert condition_passes(_gate(), _ci_run())


def test_a_pull_request_from_a_fork_branch_named_main_does_not_deploy():
    fork = _ci_run(
        event="pull_request", head_branch="main", head_repository={"full_name": "attacker/fork"}
    )
    assert not condition_passes(_gate(), fork)


def test_a_fork_run_reporting_push_still_does_not_deploy():
    # Only the repository check stands between this payload and the deploy role.
    fork = _ci_run(head_repository={"full_name": "attacker/fork"})
    assert not condition_passes(_gate(), fork)


def test_a_pull_request_from_this_repository_does_not_deploy():
    assert not condition_passes(_gate(), _ci_run(event="pull_request"))


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out", "skipped", None])
def test_a_ci_run_that_did_not_succeed_does_not_deploy(conclusion):
    assert not condition_passes(_gate(), _ci_run(conclusion=conclusion))


@pytest.mark.parametrize("branch", ["feature/x", "main-backup", "", None])
def test_a_push_to_another_branch_does_not_deploy(branch):
    assert not condition_passes(_gate(), _ci_run(head_branch=branch))


def test_a_run_without_a_head_repository_does_not_deploy():
    # A deleted fork leaves head_repository null in the payload.
    assert not condition_passes(_gate(), _ci_run(head_repository=None))


def test_the_repository_name_compares_case_insensitively_as_github_does():
    # GitHub owner and repository names are case-insensitive, and so is `==`.
    assert condition_passes(_gate(), _ci_run(head_repository={"full_name": REPO.upper()}))


def test_a_manual_run_deploys_from_main_only():
    assert condition_passes(_gate(), _dispatch("refs/heads/main"))
    assert not condition_passes(_gate(), _dispatch("refs/heads/feature/x"))
    assert not condition_passes(_gate(), _dispatch("refs/tags/v1.0.0"))


def test_the_old_gate_would_have_deployed_the_fork():
    # The gate before issue 16: the same evaluator lets the fork's run through.
    old = (
        "github.event_name == 'workflow_dispatch'"
        " || github.event.workflow_run.conclusion == 'success'"
    )
    fork = _ci_run(event="pull_request", head_repository={"full_name": "attacker/fork"})
    assert condition_passes(old, fork)
    assert not condition_passes(_gate(), fork)


@pytest.mark.parametrize("condition", REQUIRED)
def test_dropping_any_one_condition_lets_a_bad_run_through(condition):
    gate = " ".join(_gate().split()).replace(f"&& {condition}", "").replace(f"{condition} &&", "")
    assert condition not in gate
    bad_runs = [
        _ci_run(conclusion="failure"),
        _ci_run(event="pull_request"),
        _ci_run(head_branch="feature/x"),
        _ci_run(head_repository={"full_name": "attacker/fork"}),
    ]
    assert any(condition_passes(gate, run) for run in bad_runs)


# ---------------------------------------------------------------- the evaluator itself

CTX = {"github": {"event_name": "push", "ref": "refs/heads/main", "event": {"n": 0}}}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'a' == 'A'", True),  # strings compare case-insensitively
        ("'a' != 'b'", True),
        ("github.event_name == 'push'", True),
        ("${{ github.event_name == 'PUSH' }}", True),
        ("github.EVENT_NAME == 'push'", True),  # property names too
        ("github.event.missing.deeper == null", True),  # missing properties are null
        ("github.event.missing == ''", True),  # null and '' both coerce to 0
        ("github.event.n == false", True),  # 0 == false after number coercion
        ("'it''s' == 'IT''S'", True),
        ("!github.event.missing", True),
        ("!github.event.n", True),
        ("!(github.event_name == 'push')", False),
        ("!github.event_name == 'push'", False),  # `!` binds tighter than `==`
        ("true || false && false", True),  # `&&` binds tighter than `||`
        ("(true || false) && false", False),
        ("github.event_name == 'push' && github.ref", "refs/heads/main"),  # operand, not bool
        ("github.event.missing || 'fallback'", "fallback"),
    ],
)
def test_the_evaluator_follows_the_actions_rules(expression, expected):
    assert evaluate(expression, CTX) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "contains(github.ref, 'main')",  # function call
        "startsWith(github.ref, 'refs/heads/')",
        "github.event.n < 1",  # comparison operators
        "github.event['n'] == 0",  # index syntax
        "github.event.* == 0",
        "github.event.n == 0.0",  # number literals
        'github.ref == "refs/heads/main"',  # double quotes are not strings in Actions
        "github.ref == 'refs/heads/main",  # unterminated string
        "vars.DEPLOY == 'true'",  # a context the payload does not provide
        "(github.ref == 'x'",  # unbalanced parentheses
        "github.ref == 'x')",
        "github.ref ==",
        "github.ref = 'x'",
        "success() && github.ref == 'x'",  # status functions change the implicit check
        "github.ref == 'x' && ${{ true }}",  # `${{ }}` inside the expression
    ],
)
def test_the_evaluator_refuses_syntax_it_does_not_implement(expression):
    with pytest.raises(UnsupportedExpression):
        evaluate(expression, CTX)


def test_the_refusal_names_the_unsupported_part():
    with pytest.raises(UnsupportedExpression, match=r"function call contains\(\)"):
        evaluate("contains(github.ref, 'main')", CTX)
    with pytest.raises(UnsupportedExpression, match=r"'<"):
        evaluate("github.event.n < 1", CTX)


def test_a_gate_rewritten_with_unsupported_syntax_fails_loudly():
    gate = _gate().replace("github.event.workflow_run.event == 'push'", "contains('push', 'p')")
    with pytest.raises(UnsupportedExpression):
        condition_passes(gate, _ci_run())


def test_evaluation_does_not_change_the_context():
    ctx = _ci_run()
    before = copy.deepcopy(ctx)
    condition_passes(_gate(), ctx)
    assert ctx == before
