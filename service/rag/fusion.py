"""Fuse rankings by reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

# The paper's constant: it damps the lead of the very first ranks, so an item ranked well by
# both rankers beats one ranked first by only one of them.
RRF_K = 60


def rrf(rankings: Sequence[Sequence[Hashable]], weights: Sequence[float] | None = None) -> dict:
    """Return each item's fused score: the sum of weight / (RRF_K + rank) over the rankings."""
    weights = weights or [1.0] * len(rankings)
    fused: dict = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (RRF_K + rank)
    return fused
