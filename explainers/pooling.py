"""F: a paragraph's vector from the last layer's token vectors (Eq. 1 and the model's own pooling).

The paper's Eq. 1 is the mean over the paragraph's tokens; for a plain transformers directory F is
that mean over the content tokens ([CLS], [SEP] and padding left out). A sentence-transformers
directory pools as sentence-transformers does, over every attention-masked token (special tokens
included), so that the similarity explained is the model's own. The modes:

- ``mean``: Σ_i h_i / n over the pooled tokens;
- ``mean-sqrt-len``: Σ_i h_i / √n;
- ``max``: the element-wise max over the pooled tokens (its gradient reaches the arg-max token of
  each dimension only);
- ``cls``: the first token's vector (the pooled tokens are that one).

With ``normalize`` (a Normalize module) F is divided by its L2 norm; the cosine, hence every
saliency, is the same, but F then equals the model's sentence embedding. Pooling runs in float32
at least, whatever precision the encoder's forward uses (a float64 model pools in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as functional


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in float32, or in its own precision when that is higher (float64)."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (rows, length, hidden) over the tokens where ``mask`` (rows, length) is
    true -> (rows, hidden) (Eq. 1 with the content tokens as the mask)."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)  # (rows, length, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)


@dataclass(frozen=True)
class Pooling:
    """How F is pooled: ``mode`` (one of ``modeldir.POOLING_MODES``), ``tokens`` (``"content"``:
    special tokens left out, Eq. 1; ``"attention"``: every attention-masked token, as
    sentence-transformers pools) and ``normalize`` (L2-normalised F)."""

    mode: str = "mean"
    tokens: str = "content"
    normalize: bool = False

    @property
    def pooled_tokens(self) -> str:
        """``"first"`` for CLS pooling, else ``tokens``: which tokens F reads, for the model info."""
        return "first" if self.mode == "cls" else self.tokens

    def mask(self, attention_mask: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """The tokens F reads, (rows, length) bool, from a batch's ``attention_mask`` and ``content``."""
        if self.mode == "cls":
            first = torch.zeros_like(content)
            first[:, 0] = True
            return first
        return content.clone() if self.tokens == "content" else attention_mask.bool()

    def __call__(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """F of ``hidden`` (rows, length, hidden) over ``mask`` (rows, length) -> (rows, hidden), float32
        at least."""
        hidden = at_least_float32(hidden)
        if self.mode == "cls":
            pooled = hidden[:, 0]
        elif self.mode == "max":
            pooled = hidden.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values
        else:
            weights = mask.to(hidden.dtype).unsqueeze(-1)  # (rows, length, 1)
            count = weights.sum(1).clamp_min(1.0)  # (rows, 1)
            pooled = (hidden * weights).sum(1) / (count if self.mode == "mean" else count.sqrt())
        return functional.normalize(pooled, dim=-1) if self.normalize else pooled
