"""Price the guide's stack line by line: a model, not the emulator.

A model, not the emulator: computes what AWS would charge from its published us-east-1 prices
(`deploy.models.prices`, each with its page, e.g. https://aws.amazon.com/fargate/pricing/);
moto bills nothing. `stack_cost` prices the whole stack, `compare` prices scenarios side by
side. This is the cost model's one public module: it re-exports the price helpers, and
`GUIDE_CLAIMS` / `GuideClaim` (the guide's cost figures beside the computed ones, from
`deploy.models.cost_claims`), so callers and the quiz bank reach all of it as
`deploy.models.cost.<name>`.
"""

from dataclasses import dataclass

from deploy.models.common import ModelError, require_int, require_non_negative, require_positive
from deploy.models.prices import (
    HOURS_PER_MONTH,
    PRICES,
    alb_hourly,
    check_fargate_size,
    dynamodb_on_demand_monthly,
    ec2_monthly,
    ecr_storage_monthly,
    fargate_hourly,
    logs_monthly,
    monthly,
    percent_saving,
    public_ipv4_hourly,
    secrets_monthly,
)


@dataclass(frozen=True)
class LineItem:
    """One line of a bill: a name, its hourly and monthly cost and how it was computed."""

    name: str
    hourly: float
    monthly: float
    note: str = ""


@dataclass(frozen=True)
class CostBreakdown:
    """A priced stack: line items and totals over `hours` (one month unless stated)."""

    items: tuple[LineItem, ...]
    hours: float = HOURS_PER_MONTH

    @property
    def hourly_total(self) -> float:
        """Return the total cost per hour."""
        return sum(item.hourly for item in self.items)

    @property
    def monthly_total(self) -> float:
        """Return the total cost over the period."""
        return sum(item.monthly for item in self.items)

    def item(self, name: str) -> LineItem:
        """Return the line item called `name`."""
        for item in self.items:
            if item.name == name:
                return item
        raise ModelError(f"no line item {name!r}; have {[i.name for i in self.items]}")

    def table(self) -> list[dict[str, object]]:
        """Return rows (item, $/hour, $/month, note) plus a total row, rounded for display."""
        rows = [
            {
                "item": i.name,
                "hourly": round(i.hourly, 4),
                "monthly": round(i.monthly, 2),
                "note": i.note,
            }
            for i in self.items
        ]
        rows.append(
            {
                "item": "TOTAL",
                "hourly": round(self.hourly_total, 4),
                "monthly": round(self.monthly_total, 2),
                "note": f"{self.hours:g} h",
            }
        )
        return rows


def stack_cost(
    tasks: int = 1,
    vcpu: float = 1,
    memory_gb: float = 8,
    *,
    task_hours: float | None = None,
    spot_fraction: float = 0.0,
    spot_discount: float | None = None,
    alb: bool = True,
    alb_lcu: float = 0.0,
    public_ipv4: int = 3,
    nat_gateways: int = 0,
    nat_gb: float = 0.0,
    logs_ingest_gb: float = 3.0,
    logs_stored_gb: float = 0.7,
    secrets: int = 1,
    secret_api_calls: int = 0,
    ecr_gb: float = 4.4,
    s3_gb: float = 0.0,
    efs_gb: float = 0.0,
    dynamodb_writes: float = 0.0,
    dynamodb_reads: float = 0.0,
    eks: bool = False,
    ec2_instances: dict[str, int] | None = None,
    hours: float = HOURS_PER_MONTH,
) -> CostBreakdown:
    """Price the guide's stack for a month; defaults are the guide's 1 task and its extras."""
    # Defaults: the guide's 1 vCPU / 8 GB task; 3 public IPv4s (task + 2 ALB nodes);
    # ~100 MB logs/day (3 GB ingest, 0.7 GB kept 7 days); one secret; the 4.4 GB image.
    require_int("tasks", tasks)
    require_int("public_ipv4", public_ipv4)
    require_int("nat_gateways", nat_gateways)
    require_positive("hours", hours)
    if not 0 <= spot_fraction <= 1:
        raise ModelError(f"spot_fraction must be between 0 and 1, got {spot_fraction!r}")
    check_fargate_size(vcpu, memory_gb)
    if task_hours is None:
        task_hours = tasks * hours
    require_non_negative("task_hours", task_hours)
    per_task = fargate_hourly(vcpu, memory_gb)
    spot_rate = fargate_hourly(vcpu, memory_gb, spot=True, spot_discount=spot_discount)
    fargate = task_hours * ((1 - spot_fraction) * per_task + spot_fraction * spot_rate)
    items = [
        LineItem(
            "Fargate tasks",
            fargate / hours,
            fargate,
            f"{task_hours:g} task-h x ${per_task:.5f}/h ({vcpu:g} vCPU, {memory_gb:g} GB)"
            + (f", {spot_fraction:.0%} on Spot" if spot_fraction else ""),
        )
    ]

    def add(name: str, month: float, note: str) -> None:
        if month:
            items.append(LineItem(name, month / hours, month, note))

    if alb:
        add("ALB", monthly(alb_hourly(alb_lcu), hours), f"${PRICES.alb_hour}/h + {alb_lcu:g} LCU")
    add(
        "Public IPv4",
        monthly(public_ipv4_hourly(public_ipv4), hours),
        f"{public_ipv4} x ${PRICES.public_ipv4_hour}/h",
    )
    add(
        "NAT gateway",
        nat_gateways * (monthly(PRICES.nat_hour, hours) + nat_gb * PRICES.nat_gb),
        f"{nat_gateways} x ${PRICES.nat_hour}/h + {nat_gb:g} GB",
    )
    add(
        "CloudWatch Logs",
        logs_monthly(logs_ingest_gb, logs_stored_gb),
        f"{logs_ingest_gb:g} GB ingested, {logs_stored_gb:g} GB stored",
    )
    add("Secrets Manager", secrets_monthly(secrets, secret_api_calls), f"{secrets} secret(s)")
    add("ECR storage", ecr_storage_monthly(ecr_gb), f"{ecr_gb:g} GB")
    add("S3", require_non_negative("s3_gb", s3_gb) * PRICES.s3_gb_month, f"{s3_gb:g} GB")
    add("EFS", require_non_negative("efs_gb", efs_gb) * PRICES.efs_gb_month, f"{efs_gb:g} GB")
    add("DynamoDB", dynamodb_on_demand_monthly(dynamodb_writes, dynamodb_reads), "on-demand")
    if eks:
        add("EKS control plane", monthly(PRICES.eks_cluster_hour, hours), "per cluster")
    for instance_type, count in (ec2_instances or {}).items():
        require_int(f"ec2_instances[{instance_type!r}]", count)
        add(
            f"EC2 {instance_type}",
            count * ec2_monthly(instance_type) * hours / HOURS_PER_MONTH,
            f"{count} on-demand",
        )
    return CostBreakdown(tuple(items), hours)


def compare(scenarios: dict[str, dict]) -> list[dict[str, object]]:
    """Price each named scenario (kwargs for stack_cost); rows compare each with the first."""
    if not scenarios:
        raise ModelError("compare needs at least one scenario")
    rows, baseline = [], None
    for name, kwargs in scenarios.items():
        breakdown = stack_cost(**kwargs)
        total = breakdown.monthly_total
        baseline = total if baseline is None else baseline
        rows.append(
            {
                "scenario": name,
                "hourly": round(breakdown.hourly_total, 4),
                "monthly": round(total, 2),
                "vs_first": round(total - baseline, 2),
                "saving_pct": round(percent_saving(baseline, total), 1) if baseline else 0.0,
            }
        )
    return rows
