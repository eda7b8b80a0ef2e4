"""Price the guide's AWS stack: a model, not the emulator.

A model, not the emulator: computes what AWS would charge from its published us-east-1 prices
(moto bills nothing). Every price carries the page it comes from (`SOURCES`); prices change, so
check them on those pages before quoting them. The figures were checked for the workbook's
errata (reference/errata.md "Verified correct", items 6, 7 and 22):
- https://aws.amazon.com/fargate/pricing/ (Fargate bills from the start of the image download
  until the task stops; a month is taken as 730 hours, as AWS's own estimates do)
- https://aws.amazon.com/elasticloadbalancing/pricing/, https://aws.amazon.com/vpc/pricing/
- https://aws.amazon.com/cloudwatch/pricing/, https://aws.amazon.com/secrets-manager/pricing/
- https://aws.amazon.com/dynamodb/pricing/on-demand/, https://aws.amazon.com/ec2/pricing/on-demand/
"""

from dataclasses import dataclass, field

from deploy.models_common import ModelError, require_int, require_non_negative, require_positive

__all__ = [
    "GUIDE_CLAIMS",
    "GUIDE_MONDAY_SEGMENTS",
    "HOURS_PER_MONTH",
    "PRICES",
    "PRICES_AS_OF",
    "SOURCES",
    "CostBreakdown",
    "GuideClaim",
    "LineItem",
    "ModelError",
    "PriceTable",
    "alb_hourly",
    "check_fargate_size",
    "compare",
    "dynamodb_on_demand_monthly",
    "ec2_monthly",
    "ecr_storage_monthly",
    "fargate_hourly",
    "logs_monthly",
    "monthly",
    "nat_monthly",
    "percent_saving",
    "public_ipv4_hourly",
    "schedule_fraction",
    "secrets_monthly",
    "stack_cost",
]

HOURS_PER_MONTH = 730  # AWS pricing pages and calculator: 24 x 365 / 12
HOURS_PER_WEEK = 168
PRICES_AS_OF = "2026-11-26"  # when these were last checked against the pages in SOURCES


@dataclass(frozen=True)
class PriceTable:
    """Hold the us-east-1 on-demand prices the workbook uses, in US dollars."""

    fargate_vcpu_hour: float = 0.04048
    fargate_gb_hour: float = 0.004445
    # "Up to 70 %" is AWS's headline figure; the real Spot discount varies over time.
    fargate_spot_max_discount: float = 0.70
    alb_hour: float = 0.0225
    alb_lcu_hour: float = 0.008
    public_ipv4_hour: float = 0.005
    nat_hour: float = 0.045
    nat_gb: float = 0.045
    logs_ingest_gb: float = 0.50
    logs_ia_ingest_gb: float = 0.25  # Infrequent Access log class, chosen at group creation
    logs_storage_gb_month: float = 0.03
    logs_scanned_gb: float = 0.005
    secret_month: float = 0.40
    secrets_per_10k_calls: float = 0.05
    ecr_gb_month: float = 0.10
    s3_gb_month: float = 0.023
    efs_gb_month: float = 0.30
    eks_cluster_hour: float = 0.10
    dynamodb_write_million: float = 0.625
    dynamodb_read_million: float = 0.125
    dynamodb_pitr_gb_month: float = 0.20
    ec2_hour: dict[str, float] = field(
        default_factory=lambda: {"t3.medium": 0.0416, "t3.large": 0.0832}
    )


PRICES = PriceTable()

_FARGATE = "https://aws.amazon.com/fargate/pricing/"
_VPC = "https://aws.amazon.com/vpc/pricing/"
_LOGS = "https://aws.amazon.com/cloudwatch/pricing/"
_DDB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
SOURCES: dict[str, str] = {
    "fargate_vcpu_hour": _FARGATE,
    "fargate_gb_hour": _FARGATE,
    "fargate_spot_max_discount": "https://aws.amazon.com/fargate/pricing/ (Fargate Spot)",
    "alb_hour": "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "alb_lcu_hour": "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "public_ipv4_hour": _VPC + " (Public IPv4 Address tab)",
    "nat_hour": _VPC + " (NAT Gateway tab)",
    "nat_gb": _VPC + " (NAT Gateway tab)",
    "logs_ingest_gb": _LOGS,
    "logs_ia_ingest_gb": _LOGS,
    "logs_storage_gb_month": _LOGS,
    "logs_scanned_gb": _LOGS,
    "secret_month": "https://aws.amazon.com/secrets-manager/pricing/",
    "secrets_per_10k_calls": "https://aws.amazon.com/secrets-manager/pricing/",
    "ecr_gb_month": "https://aws.amazon.com/ecr/pricing/",
    "s3_gb_month": "https://aws.amazon.com/s3/pricing/",
    "efs_gb_month": "https://aws.amazon.com/efs/pricing/",
    "eks_cluster_hour": "https://aws.amazon.com/eks/pricing/",
    "dynamodb_write_million": _DDB,
    "dynamodb_read_million": _DDB,
    "dynamodb_pitr_gb_month": "https://aws.amazon.com/dynamodb/pricing/",
    "ec2_hour": "https://aws.amazon.com/ec2/pricing/on-demand/",
}

# Valid Fargate sizes: vCPU -> (min GB, max GB, step GB) (AWS "task CPU and memory" table).
_FARGATE_SIZES = {
    0.25: (0.5, 2, None),  # 0.5, 1, 2 only
    0.5: (1, 4, 1),
    1: (2, 8, 1),
    2: (4, 16, 1),
    4: (8, 30, 1),
    8: (16, 60, 4),
    16: (32, 120, 8),
}


def check_fargate_size(vcpu: float, memory_gb: float) -> None:
    """Raise ModelError unless (vcpu, memory_gb) is a size Fargate accepts."""
    if vcpu not in _FARGATE_SIZES:
        raise ModelError(f"Fargate has no {vcpu} vCPU size; choose one of {sorted(_FARGATE_SIZES)}")
    low, high, step = _FARGATE_SIZES[vcpu]
    allowed = (
        memory_gb in (0.5, 1, 2)
        if step is None
        else (low <= memory_gb <= high and (memory_gb - low) % step == 0)
    )
    if not allowed:
        raise ModelError(f"Fargate does not accept {memory_gb} GB with {vcpu} vCPU")


def fargate_hourly(
    vcpu: float, memory_gb: float, *, spot: bool = False, spot_discount: float | None = None
) -> float:
    """Return one Fargate task's price per hour (Spot: minus a discount, default "up to 70 %")."""
    require_positive("vcpu", vcpu)
    require_positive("memory_gb", memory_gb)
    hourly = vcpu * PRICES.fargate_vcpu_hour + memory_gb * PRICES.fargate_gb_hour
    if spot:
        discount = PRICES.fargate_spot_max_discount if spot_discount is None else spot_discount
        if not 0 <= discount < 1:
            raise ModelError(f"spot_discount must be in [0, 1), got {discount!r}")
        hourly *= 1 - discount
    return hourly


def monthly(hourly: float, hours: float = HOURS_PER_MONTH) -> float:
    """Return the cost of running something priced per hour for `hours` (default one month)."""
    require_non_negative("hourly", hourly)
    require_non_negative("hours", hours)
    return hourly * hours


def percent_saving(before: float, after: float) -> float:
    """Return how many percent cheaper `after` is than `before` (negative when dearer)."""
    require_positive("before", before)
    require_non_negative("after", after)
    return (before - after) / before * 100


def schedule_fraction(hours_per_day: float, days_per_week: float) -> float:
    """Return the fraction of the 168-hour week a schedule keeps something running."""
    require_non_negative("hours_per_day", hours_per_day)
    require_non_negative("days_per_week", days_per_week)
    if hours_per_day > 24 or days_per_week > 7:
        raise ModelError(f"a week has 24 h x 7 days, got {hours_per_day} h x {days_per_week} d")
    return hours_per_day * days_per_week / HOURS_PER_WEEK


def alb_hourly(lcu: float = 0.0) -> float:
    """Return an ALB's price per hour for an average of `lcu` load-balancer capacity units."""
    require_non_negative("lcu", lcu)
    return PRICES.alb_hour + lcu * PRICES.alb_lcu_hour


def public_ipv4_hourly(n_addresses: int) -> float:
    """Return the hourly charge for `n_addresses` public IPv4 addresses (in use or idle)."""
    require_int("n_addresses", n_addresses)
    return n_addresses * PRICES.public_ipv4_hour


def ecr_storage_monthly(gb: float) -> float:
    """Return the monthly ECR storage cost for `gb` of (compressed, deduplicated) layers."""
    return require_non_negative("gb", gb) * PRICES.ecr_gb_month


def logs_monthly(ingest_gb: float, stored_gb: float, scanned_gb: float = 0.0) -> float:
    """Return a month of CloudWatch Logs: ingestion + standard storage + Insights scans."""
    require_non_negative("ingest_gb", ingest_gb)
    require_non_negative("stored_gb", stored_gb)
    require_non_negative("scanned_gb", scanned_gb)
    return (
        ingest_gb * PRICES.logs_ingest_gb
        + stored_gb * PRICES.logs_storage_gb_month
        + scanned_gb * PRICES.logs_scanned_gb
    )


def secrets_monthly(n_secrets: int, api_calls: int = 0) -> float:
    """Return a month of Secrets Manager: per secret plus per 10,000 API calls."""
    require_int("n_secrets", n_secrets)
    require_int("api_calls", api_calls)
    return n_secrets * PRICES.secret_month + api_calls / 10_000 * PRICES.secrets_per_10k_calls


def dynamodb_on_demand_monthly(writes: float, reads: float) -> float:
    """Return the on-demand request cost of `writes` write and `reads` read units in a month."""
    require_non_negative("writes", writes)
    require_non_negative("reads", reads)
    return writes / 1e6 * PRICES.dynamodb_write_million + reads / 1e6 * PRICES.dynamodb_read_million


def nat_monthly(gb_processed: float = 0.0) -> float:
    """Return a month of one NAT gateway: hourly charge plus data processed."""
    require_non_negative("gb_processed", gb_processed)
    return monthly(PRICES.nat_hour) + gb_processed * PRICES.nat_gb


def ec2_monthly(instance_type: str) -> float:
    """Return a month of one on-demand Linux EC2 instance of a type in the price table."""
    if instance_type not in PRICES.ec2_hour:
        known = ", ".join(sorted(PRICES.ec2_hour))
        raise ModelError(f"no price for instance type {instance_type!r}; known: {known}")
    return monthly(PRICES.ec2_hour[instance_type])


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

    def rich_table(self):
        """Return the breakdown as a rich Table for terminals and notebooks."""
        from rich.table import Table

        table = Table(title=f"Monthly cost ({self.hours:g} h, us-east-1, prices {PRICES_AS_OF})")
        for column in ("item", "$/hour", "$/month", "note"):
            table.add_column(column, justify="right" if column.startswith("$") else "left")
        for row in self.table():
            table.add_row(row["item"], f"{row['hourly']:.4f}", f"{row['monthly']:.2f}", row["note"])
        return table


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


# --- The guide's numbers beside the computed ones --------------------------------------------


@dataclass(frozen=True)
class GuideClaim:
    """A number the guide states, the number the model computes, and the erratum that explains."""

    id: str
    guide_line: int
    claim: str
    guide_value: float | None  # None: the guide leaves this cost out
    computed: float
    unit: str
    erratum: int | None  # None: the guide's arithmetic is right
    note: str
    tolerance: float = 0.005  # in `unit`: how far the guide's rounding may go and still agree

    @property
    def agrees(self) -> bool:
        """Return True when the guide's figure equals the computed one up to its rounding."""
        if self.guide_value is None:
            return False
        return abs(self.guide_value - self.computed) <= self.tolerance


# The guide's own Monday-morning "Cost Impact" segments (L1244-1248): (tasks, minutes).
GUIDE_MONDAY_SEGMENTS: tuple[tuple[int, int], ...] = ((1, 30), (2, 15), (3, 50), (2, 25))


def _guide_claims() -> tuple[GuideClaim, ...]:
    task = fargate_hourly(1, 8)
    guide_rate = round(task, 3)  # the guide rounds the task-hour to $0.076
    monday = sum(n * minutes for n, minutes in GUIDE_MONDAY_SEGMENTS) / 60
    monday_minutes = sum(minutes for _, minutes in GUIDE_MONDAY_SEGMENTS)
    always3 = 3 * monday_minutes / 60
    stack = stack_cost()
    msgs_month = 10_000 * HOURS_PER_MONTH / 24
    return (
        GuideClaim(
            "fargate-task-hour",
            1441,
            "1 vCPU / 8 GB task per hour",
            0.076,
            task,
            "$/h",
            None,
            "right; the guide rounds $0.07604 to $0.076",
        ),
        GuideClaim(
            "fargate-1-task-720h",
            1446,
            "1 task 24/7 with a 720-hour month",
            54.72,
            720 * guide_rate,
            "$/month",
            None,
            "the guide's arithmetic is right",
        ),
        GuideClaim(
            "fargate-1-task-730h",
            1446,
            "1 task 24/7 (AWS uses 730 h/month)",
            54.72,
            monthly(task),
            "$/month",
            6,
            "AWS estimates use 730 h, not 720",
        ),
        GuideClaim(
            "fargate-3-tasks",
            1452,
            "3 tasks 24/7",
            164.16,
            3 * monthly(task),
            "$/month",
            6,
            "with 730 h and the unrounded rate",
        ),
        GuideClaim(
            "autoscaling-870-task-hours",
            1460,
            "870 task-hours of auto-scaling",
            66.12,
            870 * guide_rate,
            "$/month",
            None,
            "the guide's arithmetic is right",
        ),
        GuideClaim(
            "fargate-50-per-month",
            460,
            "Fargate 1 vCPU / 8 GB, 24/7",
            50.0,
            monthly(task),
            "$/month",
            6,
            "~$50 is inconsistent with the guide's own $55",
        ),
        GuideClaim(
            "stack-24x7",
            4250,
            "the whole stack 24/7",
            55.0,
            stack.monthly_total,
            "$/month",
            6,
            "adds ALB, 3 public IPv4s, logs, the secret and ECR",
        ),
        GuideClaim(
            "alb-monthly",
            4250,
            "ALB fixed charge",
            None,
            monthly(alb_hourly()),
            "$/month",
            6,
            "the guide leaves the ALB out of its total (plus LCUs)",
        ),
        GuideClaim(
            "public-ipv4",
            4250,
            "task + 2 ALB public IPv4 addresses",
            None,
            monthly(public_ipv4_hourly(3)),
            "$/month",
            6,
            "charged per address-hour",
        ),
        GuideClaim(
            "t3-large",
            469,
            "EC2 t3.large per month",
            30.0,
            ec2_monthly("t3.large"),
            "$/month",
            7,
            "$30 is a t3.medium; a t3.large cannot place an 8 GiB task",
        ),
        GuideClaim(
            "monday-task-hours",
            1249,
            "Monday morning task-hours",
            4.33,
            monday,
            "task-hours",
            None,
            "right",
        ),
        GuideClaim(
            "monday-savings",
            1249,
            "saving vs always-3 tasks for 2 h",
            53.0,
            percent_saving(always3, monday),
            "%",
            5,
            f"always-3 for 2 h is {always3:g} task-hours, not '2 hours'",
        ),
        GuideClaim(
            "monday-vs-always-1",
            1249,
            "cost relative to always-1 for 2 h",
            None,
            monday / (monday_minutes / 60),
            "x",
            5,
            "auto-scaling costs more than 1 task",
        ),
        GuideClaim(
            "business-hours-schedule",
            3687,
            "run 9 h/day, 5 days/week",
            60.0,
            (1 - schedule_fraction(9, 5)) * 100,
            "%",
            6,
            "45 of 168 hours",
        ),
        GuideClaim(
            "right-size-half",
            3650,
            "0.5 vCPU / 4 GB per month",
            27.0,
            monthly(fargate_hourly(0.5, 4)),
            "$/month",
            None,
            "right (a 50 % saving)",
            1.0,
        ),
        GuideClaim(
            "dynamodb-10k-messages",
            2779,
            "10k messages/day on-demand",
            0.38,
            dynamodb_on_demand_monthly(msgs_month, 0),
            "$/month",
            22,
            "prices halved in Nov 2024: $0.625/M writes",
        ),
        GuideClaim(
            "dynamodb-pitr",
            2898,
            "DynamoDB PITR per GB-month",
            2.50,
            PRICES.dynamodb_pitr_gb_month,
            "$/GB-month",
            22,
            "a price, not arithmetic",
        ),
        GuideClaim(
            "build-context-reduction",
            2135,
            "8.6 GB -> 3.9 KB context",
            99.95,
            (1 - 3.9e3 / 8.6e9) * 100,
            "%",
            6,
            "the reduction is 99.99995 %",
        ),
        GuideClaim(
            "ecr-4.4-gb",
            3719,
            "ECR storage for a 4.4 GB image",
            0.44,
            ecr_storage_monthly(4.4),
            "$/month",
            None,
            "right",
        ),
        GuideClaim(
            "logs-example",
            766,
            "3 GB ingested, 0.7 GB stored",
            1.52,
            logs_monthly(3, 0.7),
            "$/month",
            None,
            "right (the guide rounds to ~$2)",
        ),
    )


GUIDE_CLAIMS: tuple[GuideClaim, ...] = _guide_claims()
