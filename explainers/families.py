"""The encoder families the explainers can explain, and where each keeps its Eq. 2 pieces.

BTI's activation is E = T + P (Eq. 2): T the word-piece embeddings, P the absolute position
embeddings, taken before the embedding LayerNorm. As in the paper, E has no segment (token type)
embedding: a model that has one adds it itself, the same vector (segment 0) for every token of a
paragraph, and E leaves it out. Each family keeps T and P in its own modules and
numbers its positions its own way, so :class:`Family` says, per ``config.model_type``:

- ``positions(model)``: the absolute position-embedding table P is read from, or None when the
  model adds no absolute position embedding to its input, so that E = T;
- ``first_position(model)``: the position id of the first token;
- ``takes_position_ids``: whether the model's forward accepts ``position_ids``.

The families:

- **BERT** (``bert``) and **ELECTRA** (``electra``): P from ``embeddings.position_embeddings``,
  positions from 0. ELECTRA's embedding size may differ from its hidden size (a projection follows
  the embedding LayerNorm): T and P, hence E, live in the embedding space. With a relative
  ``position_embedding_type`` neither adds P, so E = T.
- **DistilBERT** (``distilbert``): P from ``embeddings.position_embeddings``, positions from 0; no
  token types, and its forward takes no ``position_ids`` (it numbers positions itself).
- **RoBERTa / XLM-R** (``roberta``, ``xlm-roberta``) and **MPNet** (``mpnet``): positions start after
  the padding id (``embeddings.padding_idx + 1``: 2 for the usual padding id 1).
- **DeBERTa-v2 / v3** (``deberta-v2``): position information enters through relative attention, not
  the input, unless ``position_biased_input`` is set; without it there is no P, so E = T. An
  embedding size other than the hidden size is projected after the sum, as in ELECTRA.

Any other architecture is refused with a :class:`ModelLoadError` naming it: its E would be a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ModelLoadError


def _absolute(model: Any) -> Any | None:
    """BERT-style embeddings: the position table, unless positions are relative (then no P)."""
    embeddings = model.embeddings
    if getattr(embeddings, "position_embedding_type", "absolute") != "absolute":
        return None
    return embeddings.position_embeddings


def _deberta(model: Any) -> Any | None:
    embeddings = model.embeddings
    return embeddings.position_embeddings if embeddings.position_biased_input else None


def _from_zero(model: Any) -> int:
    del model
    return 0


def _after_padding(model: Any) -> int:
    return int(model.embeddings.padding_idx) + 1


@dataclass(frozen=True)
class Family:
    """One encoder family: where its P comes from and how it numbers positions (module docstring)."""

    model_type: str
    title: str
    positions: Callable[[Any], Any | None]
    first_position: Callable[[Any], int]
    takes_position_ids: bool = True


FAMILIES: dict[str, Family] = {
    f.model_type: f
    for f in (
        Family("bert", "BERT", _absolute, _from_zero),
        Family("distilbert", "DistilBERT", lambda model: model.embeddings.position_embeddings, _from_zero, False),
        Family("roberta", "RoBERTa", _absolute, _after_padding),
        Family("xlm-roberta", "XLM-R", _absolute, _after_padding),
        Family("mpnet", "MPNet", lambda model: model.embeddings.position_embeddings, _after_padding),
        Family("electra", "ELECTRA", _absolute, _from_zero),
        Family("deberta-v2", "DeBERTa-v2/v3", _deberta, _from_zero),
    )
}


def supported() -> str:
    """The supported families, for messages: "BERT (bert), DistilBERT (distilbert), ..."."""
    return ", ".join(f"{f.title} ({f.model_type})" for f in FAMILIES.values())


def family_of(config: Any, where: str) -> Family:
    """The :class:`Family` of a transformers ``config``; a ModelLoadError naming the model
    (``where``) and the supported families when it is none of them."""
    model_type = getattr(config, "model_type", None)
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    architectures = ", ".join(getattr(config, "architectures", None) or []) or "no architecture named"
    raise ModelLoadError(
        f"{where} is a {model_type!r} model ({architectures}), which the explainers cannot explain faithfully: "
        f"they build BTI's E = T + P (Eq. 2) from the embedding modules of these encoder families only: {supported()}"
    )
