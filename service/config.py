"""The service's one Settings class: the guide's environment variable names, checked."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.aws import AwsContext

REPO_DIR = Path(__file__).resolve().parent.parent
# The repository's .env, wherever the process was started from (chapters run in notebooks/).
ENV_FILE = REPO_DIR / ".env"

Provider = Literal["offline", "groq", "google", "bedrock", "ollama"]
Environment = Literal["development", "test", "staging", "production"]

# Which secret each provider needs; bedrock uses the task role, ollama and offline need none.
PROVIDER_KEYS: dict[str, str] = {"groq": "GROQ_API_KEY", "google": "GOOGLE_API_KEY"}
# Values people paste from examples; refused in production like a missing key.
PLACEHOLDERS = frozenset({"", "changeme", "changethis", "dummy", "test", "xxx", "your-key-here"})
# An origin as a browser sends it: http(s), a lower-case host or [IPv6], an optional port.
ORIGIN = re.compile(r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")


class SettingsError(ValueError):
    """Signal a configuration that must not start (the message names the variable)."""


class AwsSettings(BaseSettings):
    """The AWS variables, declared once for the service's and the deploy package's Settings."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", env_ignore_empty=True)

    aws_region: str = Field("us-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    aws_profile: str | None = Field(None, validation_alias="AWS_PROFILE")

    def aws_context(self, kind: str = "aws") -> AwsContext:
        """Return the AWS context these settings name (credentials: boto3's default chain)."""
        return AwsContext(
            region=self.aws_region,
            endpoint_url=self.aws_endpoint_url,
            profile=self.aws_profile,
            kind=kind,
        )


class Settings(AwsSettings):
    """Settings for the RAG service, read once from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    # The guide's plain environment variables (task definition "environment").
    env: Environment = Field("development", validation_alias="ENV")
    host: str = Field("0.0.0.0", validation_alias="HOST")  # 0.0.0.0: reachable by the ALB
    port: int = Field(8080, ge=1, le=65535, validation_alias="PORT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias="LOG_LEVEL"
    )
    # The guide's secrets (task definition "secrets", from Secrets Manager).
    llm_provider: Provider = Field("offline", validation_alias="LLM_PROVIDER")
    llm_model: str | None = Field(None, validation_alias="LLM_MODEL")
    groq_api_key: SecretStr | None = Field(None, validation_alias="GROQ_API_KEY")
    google_api_key: SecretStr | None = Field(None, validation_alias="GOOGLE_API_KEY")
    ollama_base_url: str = Field("http://localhost:11434", validation_alias="OLLAMA_BASE_URL")
    langchain_api_key: SecretStr | None = Field(None, validation_alias="LANGCHAIN_API_KEY")
    langchain_tracing_v2: bool = Field(False, validation_alias="LANGCHAIN_TRACING_V2")
    langchain_project: str = Field("llmops", validation_alias="LANGCHAIN_PROJECT")
    langchain_endpoint: str | None = Field(None, validation_alias="LANGCHAIN_ENDPOINT")
    # State: local disk by default; S3 + DynamoDB when named (chapter 11).
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    library_dir: Path = Field(REPO_DIR / "notes", validation_alias="LIBRARY_DIR")
    # The index the image build made of those notes (used only while it matches them).
    library_index_dir: Path | None = Field(None, validation_alias="LIBRARY_INDEX_DIR")
    document_bucket: str | None = Field(None, validation_alias="DOCUMENT_BUCKET")
    chat_history_table: str | None = Field(None, validation_alias="CHAT_HISTORY_TABLE")
    history_ttl_days: int = Field(30, ge=1, validation_alias="HISTORY_TTL_DAYS")
    # Limits and access.
    max_upload_mb: float = Field(10.0, gt=0, validation_alias="MAX_UPLOAD_MB")
    max_files: int = Field(10, ge=1, validation_alias="MAX_FILES")
    max_message_chars: int = Field(2000, ge=1, validation_alias="MAX_MESSAGE_CHARS")
    # What one upload and one session may hold, and how PDFs are parsed (service/uploads.py,
    # service/quota.py, service/sandbox.py); sized for notes, papers and a few books.
    max_upload_text_chars: int = Field(1_000_000, ge=1, validation_alias="MAX_UPLOAD_TEXT_CHARS")
    max_chunks_per_upload: int = Field(2_000, ge=1, validation_alias="MAX_CHUNKS_PER_UPLOAD")
    max_chunks_per_session: int = Field(5_000, ge=1, validation_alias="MAX_CHUNKS_PER_SESSION")
    session_quota_mb: float = Field(200.0, gt=0, validation_alias="SESSION_QUOTA_MB")
    max_pdf_pages: int = Field(200, ge=1, validation_alias="MAX_PDF_PAGES")
    max_pdf_page_kb: int = Field(1024, ge=16, validation_alias="MAX_PDF_PAGE_KB")
    parse_cpu_s: int = Field(5, ge=1, validation_alias="PARSE_CPU_S")
    parse_timeout_s: float = Field(20.0, gt=0, validation_alias="PARSE_TIMEOUT_S")
    parse_memory_mb: int = Field(512, ge=128, validation_alias="PARSE_MEMORY_MB")
    index_cache_mb: float = Field(256.0, ge=0, validation_alias="INDEX_CACHE_MB")
    session_idle_ttl_hours: float = Field(168.0, ge=0, validation_alias="SESSION_IDLE_TTL_HOURS")
    api_key: SecretStr | None = Field(None, validation_alias="API_KEY")
    cors_origins: Annotated[list[str], NoDecode] = Field([], validation_alias="CORS_ORIGINS")
    # Request bodies, connections and the API docs (service/api/limits.py, service/server.py).
    max_json_kb: int = Field(64, ge=1, validation_alias="MAX_JSON_KB")
    max_concurrency: int = Field(100, ge=1, validation_alias="MAX_CONCURRENCY")
    # Above the ALB's idle timeout (60 s by default): see service/server.py.
    keep_alive_s: int = Field(65, ge=1, validation_alias="KEEP_ALIVE_S")
    # Unset: /docs, /redoc and /openapi.json are served except in ENV=production.
    enable_docs: bool | None = Field(None, validation_alias="ENABLE_DOCS")
    # Retrieval and shutdown.
    # "hashing" needs no weights; "minilm" (the guide's all-MiniLM-L6-v2, PyTorch) is for
    # bench/'s side-by-side comparison and needs packages the service extra leaves out.
    embeddings: Literal["hashing", "minilm"] = Field("hashing", validation_alias="EMBEDDINGS")
    retrieval_k: int = Field(4, ge=1, le=50, validation_alias="RETRIEVAL_K")
    history_turns: int = Field(6, ge=0, validation_alias="HISTORY_TURNS")
    shutdown_grace_s: float = Field(1.5, ge=0, validation_alias="SHUTDOWN_GRACE_S")
    # The image's commit, shown by /health so you can see which build a task runs.
    git_sha: str | None = Field(None, validation_alias="GIT_SHA")
    # The release shown by /health (default: the installed package's version).
    app_version: str | None = Field(None, validation_alias="APP_VERSION")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # CORS_ORIGINS is a comma-separated list: "https://a.example,https://b.example".
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("env", "llm_provider", "embeddings", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _embedder_installed(self) -> Settings:
        # Refuse at start-up rather than at the first upload; find_spec imports nothing.
        if self.embeddings == "minilm":
            from service.rag.minilm import INSTALL_HINT, missing_modules

            if missing := missing_modules():
                raise SettingsError(f"{INSTALL_HINT}; missing: {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env != "production":
            return self
        variable = PROVIDER_KEYS.get(self.llm_provider)
        if variable:
            secret = getattr(self, variable.lower())
            if secret is None or secret.get_secret_value().strip().lower() in PLACEHOLDERS:
                raise SettingsError(
                    f"{variable} is missing or a placeholder: ENV=production with "
                    f"LLM_PROVIDER={self.llm_provider} needs it (inject it from Secrets Manager)"
                )
        if "*" in self.cors_origins:  # alone or beside origins: either allows every origin
            raise SettingsError(
                "CORS_ORIGINS='*' is refused in ENV=production: list the allowed origins"
            )
        return self

    @model_validator(mode="after")
    def _cors_entries_are_origins(self) -> Settings:
        # Browsers send Origin as scheme://host[:port]: an entry with a path or a trailing slash
        # never matches, and "*" beside origins silently allows every origin.
        if "*" in self.cors_origins and len(self.cors_origins) > 1:
            raise SettingsError(
                "CORS_ORIGINS lists '*' beside origins, which allows every origin: "
                "list only the allowed origins (or '*' alone, outside ENV=production)"
            )
        for entry in self.cors_origins:
            if entry != "*" and not ORIGIN.fullmatch(entry):
                raise SettingsError(
                    f"CORS_ORIGINS entry {entry!r} is not an origin: write scheme://host[:port] "
                    "in lower case, without a path or a trailing slash"
                )
        return self

    @property
    def docs_enabled(self) -> bool:
        """Say whether to serve /docs, /redoc and /openapi.json (ENABLE_DOCS)."""
        return self.env != "production" if self.enable_docs is None else self.enable_docs

    @property
    def max_upload_bytes(self) -> int:
        """Return the per-file upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    def secret_values(self) -> list[str]:
        """Return every secret's value (for the log redaction filter; never log these)."""
        secrets = (self.groq_api_key, self.google_api_key, self.langchain_api_key, self.api_key)
        return [s.get_secret_value() for s in secrets if s and len(s.get_secret_value()) >= 4]

    def summary(self) -> dict[str, object]:
        """Return the settings for a start-up log line: secrets shown only as set/unset."""
        out: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr) or name.endswith("_key"):
                out[name] = "set" if value else "unset"
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        return out


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (tests pass their own to create_app instead)."""
    return Settings()
