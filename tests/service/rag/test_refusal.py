"""Test where the offline chain refuses: names the notes never use, and near-miss wording."""

from __future__ import annotations

import pytest

from service.rag.analysis import domain_phrase, terms
from service.rag.answers import DONT_KNOW
from service.rag.chain import RagChain
from service.rag.embeddings import HashingEmbeddings
from service.rag.ingest import load_directory, split_documents
from service.rag.spelling import Speller, unknown_names
from service.rag.vectorstore import FaissStore

NOTES = {
    "alb.md": """# Application Load Balancer

## 502, 503 and 504 from the ALB

A 502 from the load balancer means the target closed the connection or sent a malformed
response, often because the app crashed. A 503 means the target group has no healthy
targets.
""",
    "costs.md": """# Costs

## Fargate prices

Fargate in us-east-1 charges $0.04048 per vCPU-hour and $0.004445 per GB-hour. A month is
730 hours of running time.
""",
    "ecs.md": """# ECS

## ECS versus EKS

EKS is managed Kubernetes: $0.10 per hour per cluster control plane, plus the nodes. For one
small service ECS on Fargate costs nothing extra for the control plane.

## Secrets

Secrets Manager stores the API keys, the Google Gemini key among them; ECS injects them when
the task starts, so a task can run in the cloud without keys in its image.
""",
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> FaissStore:
    """Return a store indexing three small notes."""
    root = tmp_path_factory.mktemp("notes")
    for name, text in NOTES.items():
        (root / name).write_text(text)
    store = FaissStore.empty(HashingEmbeddings())
    store.add_documents(split_documents(load_directory(root), chunk_size=400, chunk_overlap=40))
    return store


@pytest.mark.parametrize(
    "question",
    [
        "What does Google Cloud Run charge per vCPU-hour?",  # known words, unknown name
        "What is the default visibility timeout of an SQS queue?",  # unknown acronym
        "How do I schedule Step Functions to run the ECS task?",
        "Does the API Gateway charge per hour like Fargate?",  # an acronym opens the name
    ],
)
def test_a_question_naming_a_product_the_notes_never_use_is_refused(library, question):
    answer = RagChain().ask([library], question)
    assert not answer.grounded
    assert answer.text == DONT_KNOW
    assert answer.citations == []


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("my lb keeps spitting 502s, whats busted?", "closed the connection"),
        ("What does serverless compute cost per vCPU-hour in N. Virginia?", "$0.04048"),
        ("Is managed K8s worth the extra bucks for one small service?", "$0.10 per hour"),
        ("How does AWS Secrets Manager hand the API keys to the task?", "injects them"),
    ],
)
def test_a_near_miss_phrasing_of_a_notes_fact_is_answered(library, question, fact):
    answer = RagChain().ask([library], question)
    assert answer.grounded, answer.text
    assert fact in answer.text


def test_plural_numbers_and_common_abbreviations_meet_the_notes_terms():
    assert terms("502s from the lb") == terms("502 from the load balancer")
    assert "kubernet" in terms("managed K8s")
    assert set(terms("N. Virginia")) == set(terms("us-east-1"))
    assert set(terms("PITR window")) == set(terms("point-in-time recovery window"))
    assert set(terms("CMD as a JSON array")) == set(terms("CMD in exec form"))


def test_names_are_known_from_the_text_or_the_synonym_table():
    speller = Speller(["secrets", "manager", "stores", "fargate", "8", "gb", "task"])
    assert unknown_names("How does AWS Secrets Manager work?", [speller]) == []
    assert unknown_names("Is K8s cheaper in N. Virginia?", [speller]) == []
    assert unknown_names("How long is the DynamoDB PITR window?", [speller]) == ["DynamoDB"]
    # A unit after a number is not a name ("8 GB Fargate task").
    assert unknown_names("What does one 8 GB Fargate task cost?", [speller]) == []
    assert unknown_names("Does Fargate Stores work?", [speller]) == ["Fargate Stores"]
    # A sentence's first word is capitalised anyway; after "N." the sentence goes on.
    assert unknown_names("I use Fargate. Explain Secrets Manager", [speller]) == []
    assert unknown_names("Is it cheaper in N. Virginia or Ohio?", [speller]) == ["Ohio"]
    assert domain_phrase(["virginia"]) and not domain_phrase(["sourdough"])
