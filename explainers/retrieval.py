"""Item-to-item retrieval over a catalog (paper §4): embed every item, then for each seed item find
its most similar other items by cosine of the encoder's paragraph vectors F (Eq. 1, or the model's
own pooling).

Embedding sorts texts by length and fills batches up to a token budget (rows × padded length), so
little compute goes to padding. Search is exact brute force in chunks of seeds × items, so memory
stays bounded (about ``seed_chunk × item_chunk`` floats at a time, e.g. 120K × 768 catalogs).
Items whose text is identical to the seed's (the seed included) are never its candidates.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .catalog import DEFAULT_BATCH_TOKENS, CatalogItem
from .errors import InputError


def token_budget_batches(lengths: Sequence[int], batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches, longest first, so that ``rows × longest length <= batch_tokens``
    (a text longer than the budget gets a batch of its own)."""
    if batch_tokens < 1:
        raise InputError(f"batch_tokens must be positive, got {batch_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]  # sorted: the first is the longest
        if current and (len(current) + 1) * width > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def embed_texts(
    encoder: Any,
    texts: Sequence[str],
    *,
    batch_tokens: int = DEFAULT_BATCH_TOKENS,
    progress: bool = False,
) -> torch.Tensor:
    """Paragraph vectors F of ``texts`` -> (n, hidden) float32 on the encoder's device, in input
    order, pooled the encoder's way (``encoder.pool``: Eq. 1's mean over content tokens for a plain
    transformers dir, the model's own pooling for a sentence-transformers dir); texts over the
    model's limit are truncated (with a warning)."""
    hidden_size = encoder.model.config.hidden_size
    if not texts:
        return torch.zeros(0, hidden_size, device=encoder.device)
    paragraphs = encoder.tokenize(texts)
    batches = token_budget_batches([p.ids.size for p in paragraphs], batch_tokens)
    out = torch.empty(len(texts), hidden_size, device=encoder.device)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="text", file=sys.stderr)
    try:
        with torch.inference_mode():
            for rows in batches:
                batch = encoder.batch([paragraphs[i] for i in rows])
                hidden = encoder.hidden_states(encoder.token_embeddings(batch.ids), batch.attention_mask)
                out[torch.as_tensor(rows, device=encoder.device)] = encoder.pool(hidden, batch)
                if bar is not None:
                    bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()
    return out


def text_groups(texts: Sequence[str]) -> torch.Tensor:
    """(n,) int64: items with the same text (surrounding whitespace ignored) share a group number."""
    numbers: dict[str, int] = {}
    return torch.tensor([numbers.setdefault(t.strip(), len(numbers)) for t in texts], dtype=torch.long)


def top_k_cosine(
    vectors: torch.Tensor,
    seeds: Sequence[int] | torch.Tensor,
    k: int,
    *,
    groups: torch.Tensor | None = None,
    seed_chunk: int = 1024,
    item_chunk: int = 32768,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact cosine top-``k`` of each seed row among ``vectors`` (n, d), leaving out the items in the
    seed's group (``groups`` (n,), default: each item its own group, so only the seed itself).

    Returns ``(scores, indices)``, both (seeds, k), best first; where fewer than ``k`` items are
    eligible the tail has score ``-inf`` and index -1. Work is one (seed_chunk, item_chunk) matmul at
    a time, merged into a running top-k, so memory does not grow with n².
    """
    n = vectors.shape[0]
    device = vectors.device
    seeds = torch.as_tensor(seeds, dtype=torch.long, device=device).reshape(-1)
    if k < 1:
        raise InputError(f"k must be positive, got {k}")
    if seeds.numel() and (int(seeds.min()) < 0 or int(seeds.max()) >= n):
        raise InputError(f"seed index out of range for {n} items")
    groups = torch.arange(n, device=device) if groups is None else groups.to(device)
    unit = F.normalize(vectors.float(), dim=1)  # normalised once
    best_scores = torch.full((seeds.numel(), k), float("-inf"), device=device)
    best_index = torch.full((seeds.numel(), k), -1, dtype=torch.long, device=device)
    with torch.inference_mode():
        for s0 in range(0, seeds.numel(), seed_chunk):
            rows = seeds[s0 : s0 + seed_chunk]
            queries = unit[rows]  # (s, d)
            seed_groups = groups[rows]
            scores, index = best_scores[s0 : s0 + seed_chunk], best_index[s0 : s0 + seed_chunk]
            for i0 in range(0, n, item_chunk):
                sims = queries @ unit[i0 : i0 + item_chunk].T  # (s, items in chunk)
                sims.masked_fill_(seed_groups[:, None] == groups[None, i0 : i0 + item_chunk], float("-inf"))
                kk = min(k, sims.shape[1])
                chunk_scores, chunk_index = torch.topk(sims, kk, dim=1)
                merged_scores = torch.cat([scores, chunk_scores], dim=1)
                merged_index = torch.cat([index, chunk_index + i0], dim=1)
                scores, pick = torch.topk(merged_scores, k, dim=1)
                index = torch.gather(merged_index, 1, pick)
            index = index.masked_fill(torch.isinf(scores), -1)
            best_scores[s0 : s0 + seed_chunk], best_index[s0 : s0 + seed_chunk] = scores, index
    return best_scores, best_index


def choose_seeds(
    items: Sequence[CatalogItem],
    n: int | None = None,
    *,
    seed: int = 0,
    ids: Sequence[str] | None = None,
) -> list[int]:
    """Indices of the seed items: the items with ``ids`` (in that order), else ``n`` distinct items
    drawn with ``random.Random(seed)`` (all items, shuffled, when n >= len(items))."""
    if ids is not None:
        position = {item.id: i for i, item in enumerate(items)}
        unknown = [i for i in ids if str(i) not in position]
        if unknown:
            raise InputError(
                f"unknown seed id(s): {', '.join(map(str, unknown[:10]))} (not in the catalog, or skipped)"
            )
        return [position[str(i)] for i in ids]
    if n is None or n < 1:
        raise InputError("give the number of seeds (a positive integer) or the seed ids")
    return random.Random(seed).sample(range(len(items)), min(n, len(items)))


def neighbours(
    items: Sequence[CatalogItem],
    vectors: torch.Tensor,
    seeds: Sequence[int],
    k: int = 1,
    *,
    seed_chunk: int = 1024,
    item_chunk: int = 32768,
) -> list[dict[str, Any]]:
    """Pair dicts (pair-import JSONL) of each seed item (index into ``items``) with its top-``k``
    neighbours by cosine of ``vectors`` (n, d), ranks 1..k, seed-major. Items whose text equals the
    seed's are left out::

        {"id": "s→c", "a": seed text, "b": candidate text, "a_id", "b_id", "title_a", "title_b",
         "similarity": cosine, "rank": 1}
    """
    if vectors.shape[0] != len(items):
        raise InputError(f"{vectors.shape[0]} vectors for {len(items)} items")
    groups = text_groups([item.text for item in items])
    scores, index = top_k_cosine(vectors, list(seeds), k, groups=groups, seed_chunk=seed_chunk, item_chunk=item_chunk)
    scores, index = scores.cpu().numpy(), index.cpu().numpy()
    pairs = []
    for row, s in enumerate(seeds):
        seed_item = items[s]
        for rank in range(k):
            c = int(index[row, rank])
            if c < 0:
                break
            other = items[c]
            pairs.append(
                {
                    "id": f"{seed_item.id}→{other.id}",
                    "a": seed_item.text,
                    "b": other.text,
                    "a_id": seed_item.id,
                    "b_id": other.id,
                    "title_a": seed_item.title,
                    "title_b": other.title,
                    "similarity": float(np.round(scores[row, rank], 6)),
                    "rank": rank + 1,
                }
            )
    return pairs
