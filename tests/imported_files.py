"""Files of imported explanations (explainers.imported's JSONL) for the platform's tests: plain
dicts and bytes, no model. Words are each paragraph's own split (explainers.words.split_words)."""

from __future__ import annotations

import json
from typing import Any

from explainers.words import split_words


def words_of(text: str, saliency: float = 0.5) -> list[dict[str, Any]]:
    """Every word of ``text`` with its offsets; the first word gets saliency 1, the rest ``saliency``."""
    w = split_words(text)
    return [
        {"text": t, "start": int(s), "end": int(e), "saliency": 1.0 if i == 0 else saliency}
        for i, (t, s, e) in enumerate(zip(w.texts, w.starts, w.ends, strict=True))
    ]


def explanation_line(pair_id: Any, text_a: str, text_b: str, **extra: Any) -> dict[str, Any]:
    """One valid line for the pair ``pair_id``: all words, one selected pair (word 0 × word 0)."""
    return {
        "id": pair_id,
        "words": [words_of(text_a), words_of(text_b)],
        "pairs": [{"a": 0, "b": 0, "word_similarity": 0.8, "score": 0.7}],
        **extra,
    }


def pair_lines(pairs, **extra: Any) -> list[dict[str, Any]]:
    """A valid line for each ParagraphPair of ``pairs``, named by its external id (else its id)."""
    return [explanation_line(p.external_id or str(p.pk), p.text_a, p.text_b, **extra) for p in pairs]


def jsonl(*records: Any) -> bytes:
    """Records (dicts, or raw text lines) as a JSONL file's bytes."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()
