"""Solutions to chapter 04's exercises (loaded only by show_solution and by CI's runs)."""

import json


def create_app_secret(client, api_key: str) -> str:
    """04-1: one JSON secret holding every key the task definition's `secrets` names."""
    values = {
        "GROQ_API_KEY": "",  # placeholders: no provider key configured yet
        "GOOGLE_API_KEY": "",
        "LANGCHAIN_API_KEY": "",
        "LLM_PROVIDER": "offline",
        "API_KEY": api_key,  # the key clients must send; generated, never printed
    }
    return client.create_secret(
        Name="llmops_prod",
        Description="API keys for the RAG service (JSON; injected by ECS)",
        SecretString=json.dumps(values),  # JSON text: ECS picks one key per valueFrom
        Tags=[{"Key": "Project", "Value": "ecs-workbook"}],
    )["ARN"]


def langchain_entry(secret_arn: str) -> dict:
    """04-2: the full ARN, then json-key:version-stage:version-id (both empty: AWSCURRENT)."""
    return {"name": "LANGCHAIN_API_KEY", "valueFrom": f"{secret_arn}:LANGCHAIN_API_KEY::"}


def plain_settings() -> set:
    """04-3: configuration, never credentials; every *_API_KEY goes under `secrets`."""
    return {"ENV", "PORT", "LOG_LEVEL", "LLM_PROVIDER", "DATA_DIR"}


def update_key(client, secret_id: str, new_value: str) -> None:
    """04-4: read the whole JSON, change one key, write it all back as a new version."""
    current = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    merged = {**current, "GROQ_API_KEY": new_value}
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(merged))


SOLUTIONS = {
    "04-1": create_app_secret,
    "04-2": langchain_entry,
    "04-3": plain_settings,
    "04-4": update_key,
}
