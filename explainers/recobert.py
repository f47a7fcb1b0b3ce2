"""RecoBERT-style domain training (paper §4): fine-tune a BERT-family encoder on a catalog's
(title, description) pairs so that its mean-pooled vectors (Eq. 1) suit item-to-item retrieval.

Objective, per batch of B titled items (one step):

- **Title-description cosine objective** (in-batch negatives): ``t_i``, ``d_i`` are the mean-pooled,
  L2-normalised vectors of item i's title and description; ``S = t dᵀ / τ`` (B, B) with temperature
  τ (default 0.05). The loss is the symmetric InfoNCE ``(CE(S, I) + CE(Sᵀ, I)) / 2``: each title must
  pick its own description among the batch's descriptions, and each description its title.
- **Masked language model** on the descriptions: 15% of the description's content tokens are
  chosen (80% → [MASK], 10% → a random token, 10% kept) and predicted with cross-entropy. The model
  is ``AutoModelForMaskedLM`` built from the same encoder weights; a dir without an MLM head (such as
  the default all-MiniLM-L6-v2) gets a freshly initialised transform layer, its decoder tied to the
  word embeddings as usual. As in RecoBERT, ``d_i`` is pooled from the same masked forward pass, so
  one step costs two encoder passes (titles, masked descriptions); the vocabulary head runs only at
  the masked positions.

The loss is ``cosine + mlm_weight × mlm``; AdamW, no schedule, seeded with ``torch.manual_seed``.
The output is a normal Hugging Face dir (config, weights with the MLM head, tokenizer) that
:func:`explainers.load_encoder` and every explainer accept, plus ``recobert.json`` (settings, losses,
held-out ids).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .catalog import CatalogItem
from .encoder import load_encoder, model_dir
from .errors import InputError, ModelLoadError
from .pooling import mean_pool
from .retrieval import DEFAULT_BATCH_TOKENS, embed_texts


def split_holdout(items: Sequence[CatalogItem], fraction: float, *, seed: int = 0) -> tuple[list, list]:
    """(train, held-out) items: a seeded random ``fraction`` of the items is held out."""
    if not 0.0 <= fraction < 1.0:
        raise InputError(f"holdout must be in [0, 1), got {fraction}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_out = int(round(fraction * len(items)))
    held = set(order[:n_out])
    return [it for i, it in enumerate(items) if i not in held], [it for i, it in enumerate(items) if i in held]


def mask_tokens(
    ids: torch.Tensor, content: torch.Tensor, tokenizer: Any, *, probability: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of ``ids`` (rows, length) at ``content`` positions -> (masked ids, labels with -100
    where nothing is predicted). Random draws come from ``generator`` (on the ids' device)."""
    labels = ids.clone()
    chosen = (torch.rand(ids.shape, generator=generator, device=ids.device) < probability) & content
    labels[~chosen] = -100
    masked = ids.clone()
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)
    masked[chosen & (draw < 0.8)] = tokenizer.mask_token_id
    swap = chosen & (draw >= 0.8) & (draw < 0.9)
    random_ids = torch.randint(len(tokenizer), ids.shape, generator=generator, device=ids.device)
    masked[swap] = random_ids[swap]
    return masked, labels


def _encode(tokenizer: Any, texts: Sequence[str], max_length: int, device: torch.device) -> dict[str, torch.Tensor]:
    enc = tokenizer(
        list(texts),
        padding=True,
        truncation=True,
        max_length=max_length,
        return_special_tokens_mask=True,
        return_tensors="pt",
    )
    content = enc["attention_mask"].bool() & ~enc["special_tokens_mask"].bool()
    return {
        "input_ids": enc["input_ids"].to(device),
        "attention_mask": enc["attention_mask"].to(device),
        "content": content.to(device),
    }


# The keyword settings of train_recobert recorded in recobert.json (in signature order).
_RECORDED = (
    "epochs",
    "max_steps",
    "batch_size",
    "lr",
    "temperature",
    "mlm_probability",
    "mlm_weight",
    "max_length",
    "holdout",
    "seed",
)


@dataclass(frozen=True)
class _Objective:
    """What one step computes: the title-description InfoNCE and the masked-LM loss of a batch."""

    body: Any  # the encoder inside the masked-LM model
    head: Any  # its masked-LM head
    tokenizer: Any
    device: torch.device
    generator: torch.Generator
    temperature: float
    mlm_probability: float
    mlm_weight: float
    max_length: int

    def losses(self, batch: Sequence[CatalogItem]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, cosine, mlm) of ``batch``: ``loss = cosine + mlm_weight × mlm`` (module docstring)."""
        titles = _encode(self.tokenizer, [it.title for it in batch], self.max_length, self.device)
        texts = _encode(self.tokenizer, [it.text for it in batch], self.max_length, self.device)
        ids, content = texts["input_ids"], texts["content"]
        masked, labels = mask_tokens(
            ids, content, self.tokenizer, probability=self.mlm_probability, generator=self.generator
        )
        t = mean_pool(
            self.body(input_ids=titles["input_ids"], attention_mask=titles["attention_mask"])[0], titles["content"]
        )  # (B, hidden)
        hidden = self.body(input_ids=masked, attention_mask=texts["attention_mask"])[0]  # (B, length, hidden)
        d = mean_pool(hidden, texts["content"])  # (B, hidden)
        logits = F.normalize(t, dim=1) @ F.normalize(d, dim=1).T / self.temperature  # (B, B)
        target = torch.arange(len(batch), device=self.device)
        cosine = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        chosen_tokens = labels != -100
        if bool(chosen_tokens.any()):
            # The vocabulary head runs on the masked positions only: most of its cost otherwise.
            predicted = self.head(hidden[chosen_tokens])  # (masked tokens, vocab)
            mlm_loss = F.cross_entropy(predicted, labels[chosen_tokens])
        else:  # nothing masked in this batch (tiny texts)
            mlm_loss = hidden.sum() * 0.0
        return cosine + self.mlm_weight * mlm_loss, cosine, mlm_loss


def train_recobert(
    items: Sequence[CatalogItem],
    output: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    epochs: int = 1,
    max_steps: int | None = None,
    batch_size: int = 16,
    lr: float = 5e-5,
    temperature: float = 0.05,
    mlm_probability: float = 0.15,
    mlm_weight: float = 1.0,
    max_length: int = 128,
    holdout: float = 0.0,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on the titled ``items`` (minus a seeded ``holdout`` fraction) and write the model dir
    ``output`` (which must not exist or be empty; it appears whole or not at all).

    Returns ``{"losses", "cosine_losses", "mlm_losses"}`` (one float per step) plus ``steps``,
    ``train_items``, ``holdout_ids``, ``untitled`` (items skipped for lack of a title), ``output``,
    ``base_model`` and ``mlm_head_initialised``. ``on_step(step, total_steps, loss)`` is called
    after each step (the platform reports progress with it).
    """
    settings = {name: value for name, value in locals().items() if name in _RECORDED}  # as given, for recobert.json
    out = Path(output).expanduser()
    _check_training(out, batch_size=batch_size, epochs=epochs, max_steps=max_steps)
    titled = [it for it in items if it.title.strip() and it.text.strip()]
    train, held = split_holdout(titled, holdout, seed=seed)
    if len(train) < 2:
        raise InputError(f"training needs at least 2 items with a title and a text; got {len(train)}")

    path = model_dir(model)[0]
    mlm, head, tokenizer, chosen, missing_keys = _masked_lm(path, device=device, seed=seed)
    objective = _Objective(
        body=mlm.base_model,
        head=head,
        tokenizer=tokenizer,
        device=chosen,
        generator=torch.Generator(device=chosen).manual_seed(seed),
        temperature=temperature,
        mlm_probability=mlm_probability,
        mlm_weight=mlm_weight,
        max_length=max_length,
    )
    optimizer = _adamw(mlm.to(chosen).train(), lr)
    losses = _train_steps(objective, optimizer, train, batch_size, epochs, max_steps, seed, progress, on_step)
    result: dict[str, Any] = {
        **losses,
        "steps": len(losses["losses"]),
        "train_items": len(train),
        "holdout_ids": [it.id for it in held],
        "untitled": len(items) - len(titled),
        "output": str(out),
        "base_model": str(path),
        "mlm_head_initialised": any(k.startswith("cls.") for k in missing_keys),
        "settings": settings,
    }
    _save(mlm.eval(), tokenizer, out, result)
    return result


def _check_training(out: Path, *, batch_size: int, epochs: int, max_steps: int | None) -> None:
    """An InputError for an output dir that cannot be written or settings that cannot train."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"output {str(out)!r} already exists and is not empty; choose a new directory")
    if not out.parent.is_dir():
        raise InputError(f"the parent directory of output {str(out)!r} does not exist")
    if batch_size < 2:
        raise InputError("batch_size must be at least 2 (other items in the batch are the negatives)")
    if epochs < 1 or (max_steps is not None and max_steps < 1):
        raise InputError("epochs and max_steps must be positive")


def _masked_lm(path: Path, *, device: str | torch.device | None, seed: int) -> tuple[Any, Any, Any, torch.device, list]:
    """The masked-LM model of the encoder dir ``path`` -> (model, its MLM head, tokenizer, device,
    the weights' missing keys); a fresh head is initialised from ``torch.manual_seed(seed)``."""
    from transformers import AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    encoder = load_encoder(path, device=device)  # validates the dir, picks the device
    tokenizer, chosen = encoder.tokenizer, encoder.device
    if tokenizer.mask_token_id is None:
        raise ModelLoadError(f"the tokenizer of {str(path)!r} has no mask token, which MLM training needs")
    del encoder
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the fresh MLM head is reported in the result instead
    try:
        torch.manual_seed(seed)
        mlm, info = AutoModelForMaskedLM.from_pretrained(path, local_files_only=True, output_loading_info=True)
    except Exception as exc:
        raise ModelLoadError(f"cannot build a masked-LM model from {str(path)!r}: {exc}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    missing_body = [k for k in info["missing_keys"] if k.startswith(mlm.base_model_prefix + ".")]
    if missing_body:
        raise ModelLoadError(f"the weights in {str(path)!r} miss encoder parameters: {', '.join(missing_body[:5])}")
    head = getattr(mlm, "cls", None) or getattr(mlm, "lm_head", None)  # BERT / RoBERTa-style MLM heads
    if head is None:
        raise ModelLoadError(f"{type(mlm).__name__} has no masked-LM head this trainer knows (cls or lm_head)")
    return mlm, head, tokenizer, chosen, info["missing_keys"]


def _adamw(model: Any, lr: float) -> torch.optim.Optimizer:
    try:  # the fused kernel: much faster steps on CPU and GPU
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)


def _train_steps(
    objective: _Objective,
    optimizer: torch.optim.Optimizer,
    train: Sequence[CatalogItem],
    batch_size: int,
    epochs: int,
    max_steps: int | None,
    seed: int,
    progress: bool,
    on_step: Callable[[int, int, float], None] | None,
) -> dict[str, list[float]]:
    """``epochs`` passes (at most ``max_steps`` optimizer steps) over seeded shuffles of ``train``
    -> the per-step losses (``losses``, ``cosine_losses``, ``mlm_losses``)."""
    steps_per_epoch = len(train) // batch_size or 1
    total = min(epochs * steps_per_epoch, max_steps) if max_steps else epochs * steps_per_epoch
    order_rng = random.Random(seed)
    history: dict[str, list[float]] = {"losses": [], "cosine_losses": [], "mlm_losses": []}
    losses = history["losses"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="train-recobert", unit="step", file=sys.stderr)
    try:
        while len(losses) < total:
            order = list(range(len(train)))
            order_rng.shuffle(order)
            for start in range(0, steps_per_epoch * batch_size, batch_size):
                if len(losses) >= total:
                    break
                loss, cosine, mlm_loss = objective.losses([train[i] for i in order[start : start + batch_size]])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for key, value in zip(history, (loss, cosine, mlm_loss), strict=True):
                    history[key].append(value.item())
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses[-1]:.3f}")
                if on_step is not None:
                    on_step(len(losses), total, losses[-1])
    finally:
        if bar is not None:
            bar.close()
    return history


def _save(mlm: Any, tokenizer: Any, out: Path, result: dict[str, Any]) -> None:
    """Write into a temp dir beside ``out`` and rename it into place."""
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        mlm.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "recobert.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # checked empty above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def title_text_recall(
    encoder: Any, items: Sequence[CatalogItem], *, k: int = 10, batch_tokens: int = DEFAULT_BATCH_TOKENS
) -> float:
    """Recall@k of title→description retrieval among ``items``: the share of items whose own text is
    among the k texts most cosine-similar (Eq. 1 vectors) to its title."""
    if not items:
        raise InputError("recall needs at least one item")
    titles = F.normalize(embed_texts(encoder, [it.title for it in items], batch_tokens=batch_tokens), dim=1)
    texts = F.normalize(embed_texts(encoder, [it.text for it in items], batch_tokens=batch_tokens), dim=1)
    top = torch.topk(titles @ texts.T, min(k, len(items)), dim=1).indices  # (n, k)
    hits = (top == torch.arange(len(items), device=top.device)[:, None]).any(dim=1)
    return float(hits.float().mean())
