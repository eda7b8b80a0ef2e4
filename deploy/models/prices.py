"""Hold AWS's published prices and price one service at a time: a model, not the emulator.

A model, not the emulator: computes what AWS would charge from its published us-east-1 prices
(moto bills nothing). Every price carries the page it comes from (`SOURCES`); prices change, so
check them on those pages before quoting them. The figures were checked for the workbook's
errata (docs/errata.md "Verified correct", items 6, 7 and 22):
- https://aws.amazon.com/fargate/pricing/ (Fargate bills from the start of the image download
  until the task stops; a month is taken as 730 hours, as AWS's own estimates do)
- https://aws.amazon.com/elasticloadbalancing/pricing/, https://aws.amazon.com/vpc/pricing/,
  https://aws.amazon.com/certificate-manager/pricing/
- https://aws.amazon.com/cloudwatch/pricing/, https://aws.amazon.com/secrets-manager/pricing/
- https://aws.amazon.com/dynamodb/pricing/on-demand/, https://aws.amazon.com/ec2/pricing/on-demand/
"""

from dataclasses import dataclass, field

from deploy.models.common import ModelError, require_int, require_non_negative, require_positive

__all__ = [
    "HOURS_PER_MONTH",
    "HOURS_PER_WEEK",
    "PRICES",
    "PRICES_AS_OF",
    "SOURCES",
    "PriceTable",
    "alb_hourly",
    "check_fargate_size",
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
]

HOURS_PER_MONTH = 730  # AWS pricing pages and calculator: 24 x 365 / 12
HOURS_PER_WEEK = 168
PRICES_AS_OF = "2026-11-26"  # when these were last checked against the pages in SOURCES


# AWS's prices, not the guide's claims, so they live here rather than in deploy/guide: typed
# fields the arithmetic reads by name, each with its page in SOURCES (a test checks both agree).
@dataclass(frozen=True)
class PriceTable:
    """Hold the us-east-1 on-demand prices the workbook uses, in US dollars."""

    fargate_vcpu_hour: float = 0.04048
    fargate_gb_hour: float = 0.004445
    # "Up to 70 %" is AWS's headline figure; the real Spot discount varies over time.
    fargate_spot_max_discount: float = 0.70
    alb_hour: float = 0.0225
    alb_lcu_hour: float = 0.008
    # A public ACM certificate on a load balancer is free (private CA certificates are not);
    # an HTTPS listener costs what an HTTP one does: the same hourly rate and LCU dimensions.
    acm_public_certificate_month: float = 0.0
    public_ipv4_hour: float = 0.005
    nat_hour: float = 0.045
    nat_gb: float = 0.045
    logs_ingest_gb: float = 0.50
    logs_ia_ingest_gb: float = 0.25  # Infrequent Access log class, chosen at group creation
    logs_storage_gb_month: float = 0.03
    logs_scanned_gb: float = 0.005
    alarm_month: float = 0.10  # a standard-resolution metric alarm, whatever its state
    secret_month: float = 0.40
    secrets_per_10k_calls: float = 0.05
    ecr_gb_month: float = 0.10
    s3_gb_month: float = 0.023
    efs_gb_month: float = 0.30
    eks_cluster_hour: float = 0.10
    dynamodb_write_million: float = 0.625
    dynamodb_read_million: float = 0.125
    dynamodb_pitr_gb_month: float = 0.20
    dynamodb_gb_month: float = 0.25  # table storage beyond the free 25 GB
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
    "acm_public_certificate_month": "https://aws.amazon.com/certificate-manager/pricing/",
    "public_ipv4_hour": _VPC + " (Public IPv4 Address tab)",
    "nat_hour": _VPC + " (NAT Gateway tab)",
    "nat_gb": _VPC + " (NAT Gateway tab)",
    "logs_ingest_gb": _LOGS,
    "logs_ia_ingest_gb": _LOGS,
    "logs_storage_gb_month": _LOGS,
    "logs_scanned_gb": _LOGS,
    "alarm_month": _LOGS + " (Alarms)",
    "secret_month": "https://aws.amazon.com/secrets-manager/pricing/",
    "secrets_per_10k_calls": "https://aws.amazon.com/secrets-manager/pricing/",
    "ecr_gb_month": "https://aws.amazon.com/ecr/pricing/",
    "s3_gb_month": "https://aws.amazon.com/s3/pricing/",
    "efs_gb_month": "https://aws.amazon.com/efs/pricing/",
    "eks_cluster_hour": "https://aws.amazon.com/eks/pricing/",
    "dynamodb_write_million": _DDB,
    "dynamodb_read_million": _DDB,
    "dynamodb_pitr_gb_month": "https://aws.amazon.com/dynamodb/pricing/",
    "dynamodb_gb_month": _DDB + " (Data storage)",
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
