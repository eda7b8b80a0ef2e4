"""Resource names and tags for the stack; the defaults are the guide's names.

The region is not a name: it belongs to the AWS context the names are used with.
"""

from dataclasses import dataclass, field, fields, replace

PROJECT_TAG_KEY = "Project"


@dataclass(frozen=True)
class StackNames:
    """Every name the stack uses; override any field to deploy a second copy."""

    project: str = "ecs-workbook"
    repository: str = "llmops"
    cluster: str = "llmopscluster"
    service: str = "llmops-service-2"
    family: str = "llmopstd"
    container: str = "llmops-container"
    container_port: int = 8080
    secret: str = "llmops_prod"
    log_group: str = "/ecs/llmopstdlive"
    log_retention_days: int = 14
    alb: str = "llmops-alb"
    target_group: str = "llmops-tg"
    health_path: str = "/health"
    alb_security_group: str = "llmops-alb-sg"
    task_security_group: str = "llmops-task-sg"
    execution_role: str = "ecsTaskExecutionRole"
    task_role: str = "llmops-task-role"
    ci_user: str = "github-actions-llmops"
    ci_role: str = "github-actions-llmops-deploy"
    github_repo: str = "your-org/ecs-workbook"
    bucket_prefix: str = "llmops-documents"
    history_table: str = "llmops-chat-history"
    budget: str = "llmops-monthly"
    cpu: str = "1024"
    memory: str = "8192"
    extra_tags: dict[str, str] = field(default_factory=dict)

    def bucket(self, account_id: str, region: str) -> str:
        """Return the documents bucket name, made unique with the account id and region."""
        return f"{self.bucket_prefix}-{account_id}-{region}"

    @property
    def tags(self) -> dict[str, str]:
        """Return the tags every resource carries, as a plain mapping."""
        return {PROJECT_TAG_KEY: self.project, **self.extra_tags}

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """Return the tags in the list-of-pairs shape most AWS APIs take."""
        return [{key: k, value: v} for k, v in self.tags.items()]

    def with_overrides(self, **overrides: object) -> "StackNames":
        """Return a copy with some names changed, refusing unknown fields."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown stack name field(s): {', '.join(unknown)}")
        return replace(self, **overrides)


DEFAULT_NAMES = StackNames()
