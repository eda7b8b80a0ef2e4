"""Fixtures for the RAG core tests: a small notes library and stores built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.rag.embeddings import HashingEmbeddings
from service.rag.ingest import load_directory, split_documents
from service.rag.vectorstore import FaissStore

NOTES = {
    "fargate.md": """# Fargate

## What Fargate is

Fargate is the serverless launch type of ECS: AWS runs each task on its own micro-VM,
so there are no EC2 container instances to patch or scale.

## Pricing

Fargate is billed per second for the vCPU and memory a task reserves, with a one-minute
minimum. Fargate Spot is up to 70 % cheaper but tasks can be interrupted with a
two-minute warning.
""",
    "alb.md": """# Application Load Balancer

## Health checks

The target group probes `/health` on port 8080. A target becomes unhealthy after the
unhealthy threshold of consecutive failed probes and stops receiving traffic.

## Pricing

An ALB costs a fixed hourly charge plus load balancer capacity units (LCUs) for the
connections and bytes it processes.

## Listeners

The listener on port 80 forwards requests to the target group `llmops-tg`.
""",
    "deploy.md": """# Deployments

## Circuit breaker

The deployment circuit breaker counts failed tasks, not failed health checks. With rollback
enabled, ECS reverts the service to the last deployment that completed.

## Rolling update

With minimum healthy 100 % and maximum 200 % ECS starts the new task before it stops the
old one, so the deploy has no downtime.
""",
    "logs.txt": "Container output written to stdout goes to the CloudWatch log group "
    "/ecs/llmopstdlive through the awslogs driver. Set a retention period or the logs are "
    "kept forever and keep costing storage.\n",
}


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    """Write the small notes library to a temporary directory."""
    root = tmp_path / "notes"
    root.mkdir()
    for name, text in NOTES.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def store(notes_dir: Path) -> FaissStore:
    """Return a store indexing the small notes library with the default embedder."""
    chunks = split_documents(load_directory(notes_dir), chunk_size=400, chunk_overlap=40)
    s = FaissStore.empty(HashingEmbeddings())
    s.add_documents(chunks)
    return s
