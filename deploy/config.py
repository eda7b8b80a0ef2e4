"""The deploy package's one Settings class."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["moto", "localstack", "aws"]


class DeploySettings(BaseSettings):
    """Settings for the deploy library and CLI, read from the environment and `.env`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    backend: Backend = Field("moto", validation_alias="WORKBOOK_BACKEND")
    aws_region: str = Field("us-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    aws_profile: str | None = Field(None, validation_alias="AWS_PROFILE")
    localstack_endpoint: str = Field(
        "http://localhost:4566", validation_alias="LOCALSTACK_ENDPOINT"
    )
    localstack_auth_token: str | None = Field(None, validation_alias="LOCALSTACK_AUTH_TOKEN")
    project_tag: str = Field("ecs-workbook", validation_alias="WORKBOOK_PROJECT_TAG")
    moto_port: int = Field(0, validation_alias="WORKBOOK_MOTO_PORT")
    # Budget alerts (deploy/budget.py): who gets the 80 % / 100 % emails; the limit defaults
    # to the cost model's monthly estimate plus headroom when unset.
    budget_email: str | None = Field(None, validation_alias="WORKBOOK_BUDGET_EMAIL")
    budget_limit_usd: float | None = Field(None, validation_alias="WORKBOOK_BUDGET_USD")


@lru_cache
def get_settings() -> DeploySettings:
    """Return the process-wide deploy settings."""
    return DeploySettings()
