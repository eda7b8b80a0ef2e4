"""The monthly budget: limit from the cost model, alerts at 80 % and 100 % (moto)."""

import math

import pytest

from deploy import budget, cost
from deploy.errors import InvalidInput
from deploy.names import DEFAULT_NAMES as N

EMAIL = "learner@example.com"


def test_default_limit_is_the_modelled_month_plus_headroom():
    estimate = cost.stack_cost(vcpu=1, memory_gb=8).monthly_total
    assert budget.default_limit(N) == math.ceil(estimate * budget.HEADROOM)
    assert budget.default_limit(N) > estimate


def test_budget_with_alerts_then_no_change(aws):
    [change] = budget.ensure(N, email=EMAIL)
    assert change.action == "create"
    info = budget.describe(N)
    assert info["limit_usd"] == budget.default_limit(N)
    assert info["alerts_at"] == [80.0, 100.0]
    types = {n["NotificationType"] for n in budget.notifications(N)}
    assert types == {"ACTUAL"}
    assert budget.ensure(N, email=EMAIL)[0].action == "unchanged"


def test_changed_limit_is_converged(aws):
    budget.ensure(N, email=EMAIL)
    [change] = budget.ensure(N, email=EMAIL, limit_usd=250)
    assert change.action == "update" and "limit_usd" in change.detail
    assert budget.describe(N)["limit_usd"] == 250
    assert budget.describe(N)["alerts_at"] == [80.0, 100.0]


def test_without_email_the_budget_has_no_alerts(aws):
    budget.ensure(N)
    assert budget.describe(N)["alerts_at"] == []


def test_bad_input_is_refused(aws):
    with pytest.raises(InvalidInput, match="not an e-mail"):
        budget.plan(N, email="nobody")
    with pytest.raises(InvalidInput, match="positive"):
        budget.plan(N, email=EMAIL, limit_usd=-5)


def test_delete(aws):
    budget.ensure(N, email=EMAIL)
    assert budget.delete(N)[0].action == "delete"
    assert budget.describe(N) == {"name": N.budget, "exists": False}
    assert budget.delete(N)[0].action == "absent"
