"""Reading SemEval-2016 task 2 (interpretable STS) ``.wa`` files: sentence pairs with gold chunk alignments.

A ``.wa`` file is a sequence of blocks::

    <sentence id="1" status="">
    // first sentence
    // second sentence
    <source>
    1 Former :
    ...
    </source>
    <translation>
    1 John :
    ...
    </translation>
    <alignment>
    8 9 <==> 11 12 // EQUI // 5 // at 91 <==> aged 91
    0 <==> 3 // NOALI // NIL // -not aligned- <==> ,
    </alignment>
    </sentence>

Token lines are ``INDEX TOKEN :`` (1-based, whitespace-tokenised; the trailing " :" is sometimes
"":"" glued to the token). An alignment line links source chunk tokens to translation chunk tokens
with a type (EQUI, OPPO, SPE1, SPE2, SIMI, REL, NOALI, ALIC, optionally with _FACT/_POL) and a
score (0-5 or NIL); index 0 means "no token on this side". As in the task's token-level scoring,
an aligned chunk pair stands for every (source token, translation token) pair it covers; NOALI and
ALIC chunks align nothing.

Pure Python, no Django: ``parse_wa(text)`` returns the sentences or raises ``WaFormatError``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_SENTENCE_RE = re.compile(r'^<sentence\s+id="([^"]*)"')
_TOKEN_RE = re.compile(r"^(\d+)\s+(.+?)\s?:\s*$")
_UNALIGNED_TYPES = ("NOALI", "ALIC")


class WaFormatError(ValueError):
    """A malformed ``.wa`` file; ``line`` is the 1-based line where it was noticed."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class WaChunk:
    """One alignment line: 0-based token indices on each side (empty for index 0), type and score."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    type: str
    score: float | None  # None for NIL

    @property
    def aligned(self) -> bool:
        return bool(self.a) and bool(self.b) and not self.type.upper().startswith(_UNALIGNED_TYPES)


@dataclass
class WaSentence:
    """One sentence pair: its id, both token lists, and the alignment lines."""

    id: str
    line: int
    tokens_a: list[str] = field(default_factory=list)
    tokens_b: list[str] = field(default_factory=list)
    chunks: list[WaChunk] = field(default_factory=list)

    @property
    def text_a(self) -> str:
        return " ".join(self.tokens_a)

    @property
    def text_b(self) -> str:
        return " ".join(self.tokens_b)

    def token_pairs(self) -> set[tuple[int, int]]:
        """The gold aligned token pairs (0-based (source index, translation index))."""
        return gold_token_pairs(self.chunks)


def gold_token_pairs(chunks: list[WaChunk] | list[dict]) -> set[tuple[int, int]]:
    """Every (i, j) covered by an aligned chunk (NOALI/ALIC and one-sided chunks excluded).

    In: WaChunk objects or their stored dicts ``{"a": [...], "b": [...], "type", "score"}``.
    """
    pairs: set[tuple[int, int]] = set()
    for chunk in chunks:
        if isinstance(chunk, dict):
            chunk = WaChunk(tuple(chunk["a"]), tuple(chunk["b"]), str(chunk["type"]), chunk.get("score"))
        if chunk.aligned:
            pairs.update((i, j) for i in chunk.a for j in chunk.b)
    return pairs


def token_spans(tokens: list[str]) -> list[list[int]]:
    """[start, end) char spans of ``tokens`` in ``" ".join(tokens)``."""
    spans, start = [], 0
    for token in tokens:
        spans.append([start, start + len(token)])
        start += len(token) + 1
    return spans


def _indices(text: str, n_tokens: int, line: int, side: str) -> tuple[int, ...]:
    try:
        values = [int(v) for v in text.split()]
    except ValueError:
        raise WaFormatError(line, f"the {side} indices {text.strip()!r} are not whole numbers") from None
    if not values:
        raise WaFormatError(line, f"no {side} token index (use 0 for none)")
    if any(v < 0 or v > n_tokens for v in values):
        raise WaFormatError(line, f"a {side} token index is outside 0..{n_tokens}")
    return tuple(sorted({v - 1 for v in values if v > 0}))


def _chunk(text: str, sentence: WaSentence, line: int) -> WaChunk:
    parts = text.split("//", 3)
    if len(parts) < 3 or "<==>" not in parts[0]:
        raise WaFormatError(line, "an alignment line reads 'I J <==> K L // TYPE // SCORE // comment'")
    left, right = parts[0].split("<==>", 1)
    kind, raw_score = parts[1].strip(), parts[2].strip()
    if not kind:
        raise WaFormatError(line, "the alignment type is missing")
    if raw_score.upper() == "NIL":
        score = None
    else:
        try:
            score = float(raw_score)
        except ValueError:
            raise WaFormatError(line, f"the score {raw_score!r} is neither a number nor NIL") from None
    return WaChunk(
        a=_indices(left, len(sentence.tokens_a), line, "source"),
        b=_indices(right, len(sentence.tokens_b), line, "translation"),
        type=kind,
        score=score,
    )


def parse_wa(text: str) -> list[WaSentence]:
    """All sentence pairs of a ``.wa`` file, in file order. Raises WaFormatError on a malformed file."""
    sentences: list[WaSentence] = []
    current: WaSentence | None = None
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _SENTENCE_RE.match(line)
        if match:
            if current is not None:
                raise WaFormatError(number, f"sentence {current.id} is not closed with </sentence>")
            current, section = WaSentence(id=match.group(1).strip(), line=number), ""
            continue
        if current is None:
            raise WaFormatError(number, "text outside a <sentence> block")
        if line == "</sentence>":
            if not current.tokens_a or not current.tokens_b:
                raise WaFormatError(number, f"sentence {current.id} lacks source or translation tokens")
            sentences.append(current)
            current, section = None, ""
        elif line in ("<source>", "<translation>", "<alignment>"):
            section = line[1:-1]
        elif line in ("</source>", "</translation>", "</alignment>"):
            section = ""
        elif line.startswith("//") and not section:
            continue  # the two sentences as plain text; the tokens are authoritative
        elif section in ("source", "translation"):
            token = _TOKEN_RE.match(line)
            tokens = current.tokens_a if section == "source" else current.tokens_b
            if token is None:
                raise WaFormatError(number, f"a {section} token line reads 'INDEX TOKEN :', not {line!r}")
            if int(token.group(1)) != len(tokens) + 1:
                raise WaFormatError(number, f"{section} token {token.group(1)} is out of order")
            tokens.append(token.group(2))
        elif section == "alignment":
            current.chunks.append(_chunk(line, current, number))
        else:
            raise WaFormatError(number, f"unexpected line {line!r}")
    if current is not None:
        raise WaFormatError(current.line, f"sentence {current.id} is not closed with </sentence>")
    duplicated = sorted(i for i, n in Counter(s.id for s in sentences).items() if n > 1)
    if duplicated:
        raise WaFormatError(1, f"sentence id(s) {', '.join(duplicated[:10])} appear more than once")
    return sentences
