"""What each resource module hands forward: the ARNs and ids later resources are wired with.

In a plan, a value that only exists after apply is `contract.UNKNOWN`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SecretOutputs:
    """The app's JSON secret."""

    arn: str  # the full ARN, with AWS's random 6-character suffix


@dataclass(frozen=True)
class IamOutputs:
    """The two task roles and the CI identity."""

    execution_role_arn: str
    task_role_arn: str
    ci_policy_arn: str | None = None
    ci_user_arn: str | None = None
    ci_role_arn: str | None = None


@dataclass(frozen=True)
class EcrOutputs:
    """The image repository."""

    repository_arn: str
    repository_uri: str  # <account>.dkr.ecr.<region>.amazonaws.com/<name>


@dataclass(frozen=True)
class LogsOutputs:
    """The service's log group."""

    log_group: str
    arn: str


@dataclass(frozen=True)
class NetworkOutputs:
    """The default VPC, two of its subnets in different AZs, and the two security groups."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    alb_security_group_id: str
    task_security_group_id: str
    alb_ports: tuple[int, ...] = (80,)  # what the ALB group admits (443 only with HTTPS)


@dataclass(frozen=True)
class AlbOutputs:
    """The load balancer, its target group and the target group's health-check settings."""

    load_balancer_arn: str
    target_group_arn: str
    dns_name: str
    health_check: dict = field(default_factory=dict)  # HealthCheck* / *ThresholdCount fields
    deregistration_delay_s: int = 300
    https: bool = False  # an HTTPS:443 listener with an ACM certificate; :80 then redirects

    @property
    def url(self) -> str:
        """Return the service's address: https:// with a certificate, else plain http://."""
        return f"{'https' if self.https else 'http'}://{self.dns_name}"


@dataclass(frozen=True)
class StateOutputs:
    """Where the service keeps what must outlive a task."""

    bucket: str
    bucket_arn: str
    table_arn: str
    file_system_id: str | None = None


@dataclass(frozen=True)
class EcsOutputs:
    """The cluster, the service and the task definition revision it runs."""

    cluster_arn: str
    service_arn: str
    task_definition_arn: str


@dataclass(frozen=True)
class AutoscalingOutputs:
    """The scalable target and the ARNs of its scaling policies."""

    resource_id: str
    policy_arns: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetOutputs:
    """The monthly budget."""

    name: str
    limit_usd: str
