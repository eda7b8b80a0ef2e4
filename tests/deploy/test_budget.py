"""The monthly budget: limit from the cost model, alerts at 80 % and 100 % (moto)."""

import math

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied
from deploy.aws.names import DEFAULT_NAMES
from deploy.models import cost
from deploy.resources import budget
from tests.deploy.calls import recorded

N = DEFAULT_NAMES
EMAIL = "learner@example.com"


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


def test_default_limit_is_the_modelled_month_plus_headroom():
    estimate = cost.stack_cost(vcpu=1, memory_gb=8).monthly_total
    assert budget.default_limit(N) == math.ceil(estimate * budget.HEADROOM)
    assert budget.default_limit(N) > estimate


def test_budget_with_alerts_then_no_change(ctx):
    created = budget.ensure(ctx, N, email=EMAIL)
    assert actions(created) == ["create"]
    assert created.outputs.name == N.budget
    assert float(created.outputs.limit_usd) == budget.default_limit(N)
    info = budget.describe(ctx, N)
    assert info["limit_usd"] == budget.default_limit(N)
    assert info["alerts_at"] == [80.0, 100.0]
    assert {n["NotificationType"] for n in budget.notifications(ctx, N)} == {"ACTUAL"}
    again = budget.ensure(ctx, N, email=EMAIL)
    assert actions(again) == ["unchanged"] and again.outputs == created.outputs


def test_noop_ensure_makes_no_call_twice(ctx):
    budget.ensure(ctx, N, email=EMAIL)
    with recorded(ctx, "budgets", "sts") as calls:
        budget.ensure(ctx, N, email=EMAIL)
    assert len(calls) == len(set(calls)), calls
    assert [op for _, op, _ in calls] == ["DescribeBudget", "DescribeNotificationsForBudget"]


def test_changed_limit_is_converged(ctx):
    budget.ensure(ctx, N, email=EMAIL)
    assert budget.plan(ctx, N, email=EMAIL, limit_usd=250).changes[0].detail == {
        "limit_usd": (f"{budget.default_limit(N):.2f}", "250.00")
    }
    [change] = budget.ensure(ctx, N, email=EMAIL, limit_usd=250).changes
    assert change.action == "update" and "limit_usd" in change.detail
    assert budget.describe(ctx, N)["limit_usd"] == 250
    assert budget.describe(ctx, N)["alerts_at"] == [80.0, 100.0]


def test_without_email_the_budget_has_no_alerts(ctx):
    budget.ensure(ctx, N)
    assert budget.describe(ctx, N)["alerts_at"] == []


def test_settings_are_not_read_here(ctx, monkeypatch):
    # The CLI passes DeploySettings' e-mail and limit as options; the resource ignores the
    # environment, so a set WORKBOOK_BUDGET_* changes nothing when no option is given.
    monkeypatch.setenv("WORKBOOK_BUDGET_EMAIL", EMAIL)
    monkeypatch.setenv("WORKBOOK_BUDGET_USD", "7")
    budget.ensure(ctx, N)
    info = budget.describe(ctx, N)
    assert info["alerts_at"] == [] and info["limit_usd"] == budget.default_limit(N)


def test_bad_input_is_refused(ctx):
    with pytest.raises(InvalidInput, match="not an e-mail"):
        budget.plan(ctx, N, email="nobody")
    with pytest.raises(InvalidInput, match="positive"):
        budget.plan(ctx, N, email=EMAIL, limit_usd=-5)
    with pytest.raises(InvalidInput, match="positive"):
        budget.plan(ctx, N, limit_usd=True)
    assert budget.find_budget(ctx, N) is None


def test_delete(ctx):
    budget.ensure(ctx, N, email=EMAIL)
    assert budget.delete(ctx, N)[0].action == "delete"
    assert budget.describe(ctx, N) == {"name": N.budget, "exists": False}
    assert budget.delete(ctx, N)[0].action == "absent"


def test_denied_call_names_the_action(aws, ctx):
    assert ctx.account_id  # known before IAM is enforced, as in a chapter's context
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="budgets:DescribeBudget"):
        budget.ensure(ctx, N)
