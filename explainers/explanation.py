"""The Explanation every method returns, and its JSON form (the contract in DESIGN.md).

Every method fills exactly the same fields, so nothing but the highlighted words and pairs tells
methods apart (judges stay blind). Method-specific numbers (e.g. integrated gradients'
completeness error) live in ``diagnostics``, which ``to_dict`` emits only when non-empty and which
no renderer shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Word:
    """A word of a paragraph: its text, char offsets [start, end) into the given text, saliency in [0, 1]."""

    text: str
    start: int
    end: int
    saliency: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordPair:
    """A selected word pair: ``a`` / ``b`` index words[0] / words[1]; cosine of the two words'
    vectors and the pair score (U of Eq. 6, or Λ for tfidf-w2v)."""

    a: int
    b: int
    word_similarity: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Explanation:
    """Why the encoder finds two paragraphs similar.

    ``similarity`` is always the encoder's cosine of the two paragraph vectors F (Eq. 1, or the
    model's own pooling), for every method; ``model`` names the model and ``model_info`` (when the
    pipeline computed the explanation) says how it ran: ``{"family", "format", "pooling",
    "pooled_tokens", "normalize", "max_length", "dtype"}`` (``Encoder.model_info``); ``words``
    holds both paragraphs' words; ``pairs`` the selected pairs sorted by score, highest first;
    ``truncated`` is true when either paragraph exceeded the model's limit, and then ``words_read``
    holds, per paragraph, how many of its words the model read (the words before the tokenizer's
    cut; a word is read when any of its tokens is). The cut depends only on the text and the
    tokenizer, so every method of a pair has the same ``words_read``.
    """

    method: str
    model: str
    similarity: float
    truncated: bool
    words: tuple[list[Word], list[Word]]
    pairs: list[WordPair]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    words_read: tuple[int, int] | None = None
    model_info: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe dict of the contract (plain Python floats, ints, bools, strings);
        ``words_read`` only when set (a truncated explanation), ``model_info`` only when known."""
        out: dict[str, Any] = {
            "method": self.method,
            "model": self.model,
            **({"model_info": dict(self.model_info)} if self.model_info else {}),
            "similarity": float(self.similarity),
            "truncated": bool(self.truncated),
            **({"words_read": [int(n) for n in self.words_read]} if self.words_read is not None else {}),
            "words": [[w.to_dict() for w in side] for side in self.words],
            "pairs": [p.to_dict() for p in self.pairs],
        }
        if self.diagnostics:
            out["diagnostics"] = self.diagnostics
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        """Rebuild an Explanation from ``to_dict()`` output; extra keys (e.g. ``"id"``) are ignored."""
        words = data["words"]
        if len(words) != 2:
            raise ValueError(f"'words' must hold two paragraphs, got {len(words)}")
        return cls(
            method=str(data["method"]),
            model=str(data["model"]),
            similarity=float(data["similarity"]),
            truncated=bool(data.get("truncated", False)),
            words=tuple(
                [Word(str(w["text"]), int(w["start"]), int(w["end"]), float(w["saliency"])) for w in side]
                for side in words
            ),
            pairs=[
                WordPair(int(p["a"]), int(p["b"]), float(p["word_similarity"]), float(p["score"]))
                for p in data["pairs"]
            ],
            diagnostics=dict(data.get("diagnostics") or {}),
            words_read=tuple(int(n) for n in data["words_read"]) if data.get("words_read") else None,
            model_info=dict(data["model_info"]) if isinstance(data.get("model_info"), Mapping) else None,
        )
