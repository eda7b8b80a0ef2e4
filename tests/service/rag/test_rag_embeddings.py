"""Test the default hashing embedder: deterministic, normalized, paraphrase-aware."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from service.rag.embeddings import HashingEmbeddings, get_embeddings
from service.rag.errors import RagError

TEXTS = ["How do I roll back a bad deployment?", "Fargate pricing per vCPU-hour", ""]


def cos(e: HashingEmbeddings, a: str, b: str) -> float:
    return float(np.dot(e.embed_query(a), e.embed_query(b)))


def test_vectors_have_the_dimension_and_unit_length():
    e = HashingEmbeddings(dim=256)
    vectors = e.embed_documents(TEXTS[:2])
    assert [len(v) for v in vectors] == [256, 256]
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors)


def test_empty_text_gives_a_zero_vector_not_an_error():
    assert not any(HashingEmbeddings().embed_query(""))


def test_embeddings_are_identical_in_another_process():
    # A fresh interpreter gets a different PYTHONHASHSEED: Python's hash() would differ.
    code = (
        "import json, sys; from service.rag.embeddings import HashingEmbeddings; "
        "print(json.dumps(HashingEmbeddings().embed_documents(json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(TEXTS)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout
    theirs = np.array(json.loads(out))
    ours = np.array(HashingEmbeddings().embed_documents(TEXTS))
    assert np.allclose(theirs, ours, atol=1e-6)


def test_synonyms_and_word_forms_bring_paraphrases_together():
    e = HashingEmbeddings()
    assert cos(e, "revert the release", "roll back the deployment") > 0.5
    assert cos(e, "how expensive is the load balancer", "ALB pricing") > 0.5
    assert cos(e, "auto-scaling policy", "Autoscaling policies") > 0.9
    assert cos(e, "configuring the listener", "listener configuration") > 0.5
    assert cos(e, "revert the release", "Fargate pricing per vCPU-hour") < 0.1


def test_fit_returns_a_fitted_copy_that_downweights_common_terms():
    base = HashingEmbeddings()
    corpus = ["ecs task alb", "ecs task logs", "ecs task secrets", "ecs task iam"]
    fitted = base.fit(corpus)
    assert not base.fitted and fitted.fitted and fitted.n_docs == 4
    assert fitted.idf("ecs") < fitted.idf("alb") < fitted.idf("never-seen")
    # the rare term now dominates: a query about the ALB matches the ALB doc best
    q = fitted.embed_query("alb task ecs")
    sims = [float(np.dot(q, fitted.embed_query(t))) for t in corpus]
    assert int(np.argmax(sims)) == 0


def test_state_round_trips_through_json():
    fitted = HashingEmbeddings(dim=128).fit(["a b c", "b c d"])
    again = HashingEmbeddings.from_state(json.loads(json.dumps(fitted.state())))
    assert again.embed_query("b d") == fitted.embed_query("b d")


def test_bad_state_and_bad_dim_raise_rag_error():
    with pytest.raises(RagError, match="invalid hashing-embedder state"):
        HashingEmbeddings.from_state({"dim": "x"})
    with pytest.raises(RagError, match="dim must be at least 16"):
        HashingEmbeddings(dim=4)


def test_factory_builds_hashing_and_rejects_unknown_names():
    e = get_embeddings("hashing", dim=64)
    assert isinstance(e, HashingEmbeddings) and e.dim == 64
    with pytest.raises(RagError, match="unknown embeddings 'word2vec'"):
        get_embeddings("word2vec")
