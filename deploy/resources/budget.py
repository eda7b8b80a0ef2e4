"""Keep a monthly AWS Budget with e-mail alerts at 80 % and 100 % of actual spend.

A budget only warns: it never stops or deletes anything. The limit defaults to the cost
model's estimate for the stack (deploy.models.cost) plus headroom, so the alerts mean "more
than expected", not "a normal month". The e-mail and the limit arrive as options (the CLI
passes DeploySettings' values); nothing here reads settings.
"""

from __future__ import annotations

import math
import re

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, aws_errors
from deploy.aws.names import StackNames
from deploy.models.cost import stack_cost
from deploy.resources.contract import Change, Result
from deploy.resources.outputs import BudgetOutputs
from service.aws import AwsContext

KIND = "budget"
ALERT_PERCENTS = (80.0, 100.0)
HEADROOM = 1.2  # limit = estimated month x 1.2, rounded up to whole dollars
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _what(names: StackNames) -> str:
    return f"budget {names.budget}"


def default_limit(names: StackNames) -> int:
    """Return the default monthly limit in USD: the modelled stack cost plus headroom."""
    estimate = stack_cost(vcpu=int(names.cpu) / 1024, memory_gb=int(names.memory) / 1024)
    return math.ceil(estimate.monthly_total * HEADROOM)


def notification(percent: float) -> dict:
    """Return the Notification for an alert when actual spend passes `percent` of the limit."""
    return {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": percent,
        "ThresholdType": "PERCENTAGE",
    }


def _resolve(names: StackNames, email: str | None, limit_usd: float | None) -> str:
    """Check the options; return the limit as AWS stores it ("123.00")."""
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise InvalidInput(f"budget alert e-mail {email!r} is not an e-mail address")
    limit = default_limit(names) if limit_usd is None else limit_usd
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
        raise InvalidInput(f"budget limit must be a positive number of USD, got {limit!r}")
    return f"{float(limit):.2f}"


def _account(ctx: AwsContext) -> str:
    with aws_errors("the account id (budgets are per account)", "sts"):
        return ctx.account_id


def find_budget(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the budget or None."""
    account = _account(ctx)
    with aws_errors(_what(names), "budgets"):
        try:
            return ctx.client("budgets").describe_budget(
                AccountId=account, BudgetName=names.budget
            )["Budget"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NotFoundException":
                return None
            raise


def notifications(ctx: AwsContext, names: StackNames) -> list[dict]:
    """Return the budget's notifications (thresholds and types)."""
    account = _account(ctx)
    with aws_errors(_what(names), "budgets"):
        return ctx.client("budgets").describe_notifications_for_budget(
            AccountId=account, BudgetName=names.budget
        )["Notifications"]


def _spec(names: StackNames, amount: str) -> dict:
    return {
        "BudgetName": names.budget,
        "BudgetLimit": {"Amount": amount, "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }


def _subscribers(email: str) -> list[dict]:
    return [{"SubscriptionType": "EMAIL", "Address": email}]


def _create(ctx: AwsContext, names: StackNames, amount: str, email: str | None) -> None:
    alerts = [
        {"Notification": notification(p), "Subscribers": _subscribers(email)}
        for p in ALERT_PERCENTS
    ]
    ctx.client("budgets").create_budget(
        AccountId=ctx.account_id,
        Budget=_spec(names, amount),
        NotificationsWithSubscribers=alerts if email else [],
        ResourceTags=names.tag_list(),
    )


def _update(
    ctx: AwsContext, names: StackNames, amount: str, email: str | None, have: list, delta: dict
) -> None:
    budgets, account = ctx.client("budgets"), ctx.account_id
    if ctx.kind == "moto":
        # moto has no update_budget (NotImplementedError); re-create it. On AWS that would
        # drop the budget's history, so AWS gets update_budget below.
        budgets.delete_budget(AccountId=account, BudgetName=names.budget)
        _create(ctx, names, amount, email)
        return
    if "limit_usd" in delta:
        budgets.update_budget(AccountId=account, NewBudget=_spec(names, amount))
    if "alerts_at" in delta:
        for n in have:
            budgets.delete_notification(AccountId=account, BudgetName=names.budget, Notification=n)
        for p in ALERT_PERCENTS:
            budgets.create_notification(
                AccountId=account,
                BudgetName=names.budget,
                Notification=notification(p),
                Subscribers=_subscribers(email),
            )


def _converge(
    ctx: AwsContext, names: StackNames, email: str | None, limit_usd: float | None, apply: bool
) -> Result:
    amount = _resolve(names, email, limit_usd)
    outputs = BudgetOutputs(name=names.budget, limit_usd=amount)
    detail = {"limit_usd": amount, "alerts_at": list(ALERT_PERCENTS) if email else []}
    found = find_budget(ctx, names)
    if found is None:
        if apply:
            with aws_errors(_what(names), "budgets"):
                _create(ctx, names, amount, email)
        return Result([Change(KIND, names.budget, "create", detail)], outputs)
    delta = {}
    if float(found["BudgetLimit"]["Amount"]) != float(amount):
        delta["limit_usd"] = (found["BudgetLimit"]["Amount"], amount)
    have = notifications(ctx, names)
    thresholds = sorted(float(n["Threshold"]) for n in have)
    want = sorted(ALERT_PERCENTS) if email else thresholds  # no e-mail: keep what is there
    if thresholds != want:
        delta["alerts_at"] = (thresholds, want)
    if apply and delta:
        with aws_errors(_what(names), "budgets"):
            _update(ctx, names, amount, email, have, delta)
    action = "update" if delta else "unchanged"
    return Result([Change(KIND, names.budget, action, delta or detail)], outputs)


def plan(
    ctx: AwsContext, names: StackNames, *, email: str | None = None, limit_usd: float | None = None
) -> Result:
    """Return what ensure would do to the budget."""
    return _converge(ctx, names, email, limit_usd, apply=False)


def ensure(
    ctx: AwsContext, names: StackNames, *, email: str | None = None, limit_usd: float | None = None
) -> Result:
    """Create or converge the monthly budget and its 80 %/100 % e-mail alerts."""
    return _converge(ctx, names, email, limit_usd, apply=True)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the budget's limit, actual and forecast spend and its alert thresholds."""
    found = find_budget(ctx, names)
    if found is None:
        return {"name": names.budget, "exists": False}
    spend = found.get("CalculatedSpend", {})
    return {
        "name": names.budget,
        "exists": True,
        "limit_usd": float(found["BudgetLimit"]["Amount"]),
        "actual_usd": float(spend.get("ActualSpend", {}).get("Amount", 0)),
        "forecast_usd": float(spend.get("ForecastedSpend", {}).get("Amount", 0)),
        "alerts_at": sorted(float(n["Threshold"]) for n in notifications(ctx, names)),
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the budget (its notifications and subscribers go with it)."""
    if find_budget(ctx, names) is None:
        return [Change(KIND, names.budget, "absent")]
    with aws_errors(_what(names), "budgets"):
        ctx.client("budgets").delete_budget(AccountId=ctx.account_id, BudgetName=names.budget)
    return [Change(KIND, names.budget, "delete")]
