"""Keep a monthly AWS Budget with e-mail alerts at 80 % and 100 % of actual spend.

A budget only warns: it never stops or deletes anything. The limit defaults to the cost
model's estimate for the stack (deploy.cost) plus headroom, so the alerts mean "more than
expected", not "a normal month".
"""

from __future__ import annotations

import math
import re

from botocore.exceptions import ClientError

from deploy.changes import Change
from deploy.clients import account_id, client
from deploy.config import get_settings
from deploy.errors import InvalidInput, aws_errors
from deploy.names import StackNames

ALERT_PERCENTS = (80.0, 100.0)
HEADROOM = 1.2  # limit = estimated month x 1.2, rounded up to whole dollars
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _budgets():
    return client("budgets")


def _what(names: StackNames) -> str:
    return f"budget {names.budget}"


def default_limit(names: StackNames) -> int:
    """Return the default monthly limit in USD: the modelled stack cost plus headroom."""
    from deploy import cost

    estimate = cost.stack_cost(vcpu=int(names.cpu) / 1024, memory_gb=int(names.memory) / 1024)
    return math.ceil(estimate.monthly_total * HEADROOM)


def notification(percent: float) -> dict:
    """Return the Notification for an alert when actual spend passes `percent` of the limit."""
    return {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": percent,
        "ThresholdType": "PERCENTAGE",
    }


def _resolve(
    email: str | None, limit_usd: float | None, names: StackNames
) -> tuple[str | None, str]:
    s = get_settings()
    email = email if email is not None else s.budget_email
    if email is not None and not _EMAIL.match(email):
        raise InvalidInput(f"budget alert e-mail {email!r} is not an e-mail address")
    limit = limit_usd if limit_usd is not None else s.budget_limit_usd
    if limit is None:
        limit = default_limit(names)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
        raise InvalidInput(f"budget limit must be a positive number of USD, got {limit!r}")
    return email, f"{float(limit):.2f}"


def find_budget(names: StackNames) -> dict | None:
    """Return the budget or None."""
    with aws_errors(_what(names), "budgets"):
        try:
            return _budgets().describe_budget(AccountId=account_id(), BudgetName=names.budget)[
                "Budget"
            ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NotFoundException":
                return None
            raise


def notifications(names: StackNames) -> list[dict]:
    """Return the budget's notifications (thresholds and types)."""
    with aws_errors(_what(names), "budgets"):
        return _budgets().describe_notifications_for_budget(
            AccountId=account_id(), BudgetName=names.budget
        )["Notifications"]


def _spec(names: StackNames, amount: str) -> dict:
    return {
        "BudgetName": names.budget,
        "BudgetLimit": {"Amount": amount, "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }


def _create(names: StackNames, amount: str, email: str | None) -> None:
    subscribed = (
        [
            {
                "Notification": notification(p),
                "Subscribers": [{"SubscriptionType": "EMAIL", "Address": email}],
            }
            for p in ALERT_PERCENTS
        ]
        if email
        else []
    )
    _budgets().create_budget(
        AccountId=account_id(),
        Budget=_spec(names, amount),
        NotificationsWithSubscribers=subscribed,
        ResourceTags=names.tag_list(),
    )


def _converge(names: StackNames, email: str | None, limit_usd: float | None, apply: bool) -> Change:
    email, amount = _resolve(email, limit_usd, names)
    detail = {"limit_usd": amount, "alerts_at": list(ALERT_PERCENTS) if email else []}
    found = find_budget(names)
    if found is None:
        if apply:
            with aws_errors(_what(names), "budgets"):
                _create(names, amount, email)
        return Change("budget", names.budget, "create", detail)
    delta = {}
    if float(found["BudgetLimit"]["Amount"]) != float(amount):
        delta["limit_usd"] = (found["BudgetLimit"]["Amount"], amount)
    have = sorted(float(n["Threshold"]) for n in notifications(names))
    want = sorted(ALERT_PERCENTS) if email else have
    if have != want:
        delta["alerts_at"] = (have, want)
    if apply and delta:
        from deploy.backend import is_moto

        with aws_errors(_what(names), "budgets"):
            if is_moto():
                # moto has no update_budget (NotImplementedError); re-create it. On AWS that
                # would drop the budget's history, so AWS gets update_budget below.
                _budgets().delete_budget(AccountId=account_id(), BudgetName=names.budget)
                _create(names, amount, email)
            else:
                if "limit_usd" in delta:
                    _budgets().update_budget(AccountId=account_id(), NewBudget=_spec(names, amount))
                if "alerts_at" in delta:
                    for n in notifications(names):
                        _budgets().delete_notification(
                            AccountId=account_id(), BudgetName=names.budget, Notification=n
                        )
                    for p in ALERT_PERCENTS:
                        _budgets().create_notification(
                            AccountId=account_id(),
                            BudgetName=names.budget,
                            Notification=notification(p),
                            Subscribers=[{"SubscriptionType": "EMAIL", "Address": email}],
                        )
    return Change("budget", names.budget, "update" if delta else "unchanged", delta or detail)


def plan(
    names: StackNames, *, email: str | None = None, limit_usd: float | None = None
) -> list[Change]:
    """Return what ensure would do to the budget."""
    return [_converge(names, email, limit_usd, apply=False)]


def ensure(
    names: StackNames, *, email: str | None = None, limit_usd: float | None = None
) -> list[Change]:
    """Create or converge the monthly budget and its 80 %/100 % e-mail alerts."""
    return [_converge(names, email, limit_usd, apply=True)]


def describe(names: StackNames) -> dict:
    """Return the budget's limit, actual and forecast spend and its alert thresholds."""
    found = find_budget(names)
    if found is None:
        return {"name": names.budget, "exists": False}
    spend = found.get("CalculatedSpend", {})
    return {
        "name": names.budget,
        "exists": True,
        "limit_usd": float(found["BudgetLimit"]["Amount"]),
        "actual_usd": float(spend.get("ActualSpend", {}).get("Amount", 0)),
        "forecast_usd": float(spend.get("ForecastedSpend", {}).get("Amount", 0)),
        "alerts_at": sorted(float(n["Threshold"]) for n in notifications(names)),
    }


def delete(names: StackNames) -> list[Change]:
    """Delete the budget (its notifications and subscribers go with it)."""
    if find_budget(names) is None:
        return [Change("budget", names.budget, "absent")]
    with aws_errors(_what(names), "budgets"):
        _budgets().delete_budget(AccountId=account_id(), BudgetName=names.budget)
    return [Change("budget", names.budget, "delete")]
