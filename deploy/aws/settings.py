"""The deploy package's one Settings class, read at the edge (the CLI, a chapter's set-up)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from deploy.aws.backend import Backend, BackendKind, start_backend
from service.config import ENV_FILE, AwsSettings


class DeploySettings(AwsSettings):
    """Which backend to use and the stack's settings, read from the environment and `.env`."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", env_ignore_empty=True)

    backend: BackendKind = Field("moto", validation_alias="WORKBOOK_BACKEND")
    localstack_endpoint: str = Field(
        "http://localhost:4566", validation_alias="LOCALSTACK_ENDPOINT"
    )
    localstack_auth_token: str | None = Field(None, validation_alias="LOCALSTACK_AUTH_TOKEN")
    project_tag: str = Field("ecs-workbook", validation_alias="WORKBOOK_PROJECT_TAG")
    moto_port: int = Field(0, validation_alias="WORKBOOK_MOTO_PORT")
    # Budget alerts (deploy/resources/budget.py): who gets the 80 % / 100 % emails; the limit
    # defaults to the cost model's monthly estimate plus headroom when unset.
    budget_email: str | None = Field(None, validation_alias="WORKBOOK_BUDGET_EMAIL")
    budget_limit_usd: float | None = Field(None, validation_alias="WORKBOOK_BUDGET_USD")
    # HTTPS on the ALB (real AWS): an ACM certificate for your domain; :80 then redirects.
    certificate_arn: str | None = Field(None, validation_alias="WORKBOOK_CERTIFICATE_ARN")
    # The long-lived CI IAM user (access keys in GitHub secrets) instead of only the OIDC role.
    ci_user: bool = Field(False, validation_alias="WORKBOOK_CI_USER")

    def moto_endpoint(self) -> str | None:
        """Return where an already running moto server would answer, if one is named."""
        if self.aws_endpoint_url:
            return self.aws_endpoint_url
        return f"http://127.0.0.1:{self.moto_port}" if self.moto_port else None

    def budget_options(self) -> dict:
        """Return the budget resource's options these settings set."""
        return {"email": self.budget_email, "limit_usd": self.budget_limit_usd}

    def start_backend(self, kind: str | None = None, *, fresh: bool = False) -> Backend:
        """Start (or reuse) the backend these settings name, or `kind`; return it."""
        return start_backend(
            kind or self.backend,
            region=self.aws_region,
            endpoint_url=self.moto_endpoint(),
            localstack_endpoint=self.localstack_endpoint,
            profile=self.aws_profile,
            fresh=fresh,
        )
