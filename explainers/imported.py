"""Imported explanations: explanations computed elsewhere (another toolkit, a new method), checked
strictly before a round takes them as one of its methods. Pure Python (no torch, no Django): the
CLI's ``validate`` command and the platform's upload both call it.

**Format.** JSON Lines, UTF-8, one explanation per line (blank lines skipped)::

    {"id": "p1", "similarity": 0.71,
     "words": [[{"text": "Soft", "start": 0, "end": 4, "saliency": 0.2}, ...], [...]],
     "pairs": [{"a": 1, "b": 0, "word_similarity": 0.9, "score": 0.8}]}

- ``id``: the pair's external id (a string, or an integer read as its decimal text), as the
  CLI's explain input (``{"id", "a", "b"}``) and the platform's exports name it.
- ``words``, ``pairs``: the explanation contract's (``explainers.explanation``): ``words`` holds
  two lists, paragraph a's words then paragraph b's; ``pairs`` index them (``a`` into words[0],
  ``b`` into words[1]).
- ``similarity`` (optional, a cosine in [-1, 1]): when missing, the round's model computes it.
- ``model``, ``model_info`` and ``diagnostics`` (optional) are kept as provenance; ``method``, ``truncated`` and
  ``words_read`` are accepted and ignored (the upload names the method; the round's model decides
  where a long paragraph is cut), so that ``python -m explainers explain --input`` output imports
  as it is. Any other key is an error.

**Words are the paragraph's words, every one of them.** A word's ``start``/``end`` are character
offsets (Python ``str`` indices, not bytes) into the pair's text with ``text[start:end] == word``,
and a paragraph's words are exactly those :func:`explainers.words.split_words` gives: the same
words, in order, none missing, none merged. That is the split every computed method uses, so an
imported explanation reaches the judges' renderer with the same words as the others: the same
highlightable spans, the same HTML structure, nothing that tells it apart but its scores (a method
that scores tokens maps them to these words, e.g. with the max of a word's tokens, as BTI does).

**Strict and atomic.** :func:`read_file` checks a file's structure and, given the pairs' texts,
checks it against them too (offsets, coverage, every pair exactly once; :func:`check_pairs`). It
collects the errors of every line (one per line, at most ``MAX_ERRORS``) into one
:class:`ImportFileError`, each naming its line; a caller stores nothing unless the file passes.
Rejected: a line that is not a JSON object, too long (``MAX_LINE_CHARS``) or nested too deep
(``MAX_DEPTH``); a NUL character, a lone surrogate or a non-finite number anywhere; missing or
unknown keys; words out of order, overlapping, or whose offsets do not fit their text; a saliency
outside [0, 1]; a pair index out of range, a pair listed twice, a non-finite pair number; a
similarity outside [-1, 1]; an id listed twice or unknown to the pairs, or a pair missing from
the file. A file larger than ``max_bytes`` is refused before it is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .rows import decode_utf8, parse_rows
from .words import WORD_RE

ID_KEY = "id"
REQUIRED_KEYS = (ID_KEY, "words", "pairs")
KEPT_KEYS = ("similarity", "model", "model_info", "diagnostics")
IGNORED_KEYS = ("method", "truncated", "words_read")
WORD_KEYS = ("text", "start", "end", "saliency")
PAIR_KEYS = ("a", "b", "word_similarity", "score")

MAX_FILE_BYTES = 20 * 1024 * 1024  # the platform passes its own limit (settings.BTI_MAX_UPLOAD_BYTES)
MAX_LINE_CHARS = 4_000_000  # two 10,000-word paragraphs and their pairs fit many times over
# An explanation nests 4 levels (line > words > paragraph > word); diagnostics may add a few.
MAX_DEPTH = 8
MAX_ERRORS = 50  # errors reported at most; the rest are counted
MAX_ID_CHARS = 200  # the platform's external id column
MAX_MODEL_CHARS = 500
# Within float rounding of a cosine: a similarity of 1.0000001 is 1.
SIMILARITY_TOLERANCE = 1e-6

NAME_MAX_CHARS = 64  # the platform's method column
# JSON-safe like the registry's names ("integrated-gradients"); words joined by "-" only, so that
# the judges' public ids avoid each word of it as they avoid the registry's (judging.services.assignments).
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
NAME_RULE = (
    "lower-case letters and digits, words joined by single hyphens, starting with a letter, "
    f"2 to {NAME_MAX_CHARS} characters (e.g. 'shap-partition')"
)


@dataclass(frozen=True)
class LineError:
    """One error: ``line`` of the file (None: the file as a whole) and what is wrong."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class ImportFileError(InputError):
    """A file refused: ``errors`` (at most ``MAX_ERRORS``, in line order) and ``more``, how many
    further errors were found but not listed. ``str()`` lists them, one a line."""

    def __init__(self, errors: list[LineError], *, what: str = "the file", more: int = 0) -> None:
        self.errors = errors
        self.more = more
        self.what = what
        n = len(errors) + more
        listed = "".join(f"\n  {e}" for e in errors)
        tail = f"\n  … and {more} more" if more else ""
        super().__init__(f"{what} was refused ({n} error{'s' if n != 1 else ''}; nothing was imported):{listed}{tail}")


@dataclass(frozen=True)
class ImportedExplanation:
    """One valid line: its ``line`` number, the pair ``id`` (as text), ``words`` and ``pairs`` in the
    contract's form (numbers as floats and ints), ``similarity`` (None: not given), and the kept
    provenance (``model``, ``model_info``, ``diagnostics``)."""

    line: int
    id: str
    words: tuple[list[dict[str, Any]], list[dict[str, Any]]]
    pairs: list[dict[str, Any]]
    similarity: float | None = None
    model: str | None = None
    model_info: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def payload(self, method: str) -> dict[str, Any]:
        """The explanation contract's dict under ``method``; ``similarity`` and ``model`` only when
        the line gave them (the platform's worker fills them from the round's model), no
        ``truncated`` / ``words_read`` (the worker sets them from the round model's tokenizer)."""
        out: dict[str, Any] = {"method": method}
        if self.model is not None:
            out["model"] = self.model
        if self.model_info:
            out["model_info"] = self.model_info
        if self.similarity is not None:
            out["similarity"] = self.similarity
        out["words"] = [[dict(w) for w in side] for side in self.words]
        out["pairs"] = [dict(p) for p in self.pairs]
        if self.diagnostics:
            out["diagnostics"] = self.diagnostics
        return out


class _Errors:
    """Errors in line order, at most MAX_ERRORS kept."""

    def __init__(self) -> None:
        self.kept: list[LineError] = []
        self.more = 0

    def add(self, line: int | None, message: str) -> None:
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(LineError(line, message))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.kept)

    def raise_any(self, what: str) -> None:
        if self.kept:
            ordered = sorted(self.kept, key=lambda e: (e.line is not None, e.line or 0))
            raise ImportFileError(ordered, what=what, more=self.more)


class _Bad(Exception):
    """One line's first error (internal)."""


# ---------------------------------------------------------------------------------------------
# The file's structure


def read_file(
    data: bytes | str,
    *,
    what: str = "the file",
    max_bytes: int = MAX_FILE_BYTES,
    texts: Mapping[str, tuple[str, str]] | None = None,
    pairs_name: str = "the round",
) -> list[ImportedExplanation]:
    """The explanations of an import file (``data``: its bytes, UTF-8), checked for structure and,
    given the pairs' ``texts`` (``{id: (text_a, text_b)}``, named ``pairs_name`` in messages),
    against them too (:func:`check_pairs`). Raises :class:`ImportFileError` listing every line's
    error at once, both kinds together."""
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise ImportFileError(
            [LineError(None, f"the file is {size:,} bytes; at most {max_bytes:,} may be imported at once")], what=what
        )
    try:
        text = data if isinstance(data, str) else decode_utf8(data, what)
    except InputError as exc:
        raise ImportFileError([LineError(None, str(exc))], what=what) from None
    errors = _Errors()
    explanations, named = _read(text, what, errors)
    if texts is not None:
        _check_pairs(explanations, texts, pairs_name, errors, named=named)
    elif not errors and not explanations:
        errors.add(None, 'the file holds no explanations; expected one JSON object a line: {"id", "words", "pairs"}')
    errors.raise_any(what)
    return explanations


def _read(text: str, what: str, errors: _Errors) -> tuple[list[ImportedExplanation], set[str]]:
    """The valid lines' explanations, and the ids the refused lines name (so that their pairs are
    not reported missing too); each refused line's error goes to ``errors``."""
    lines = text.split("\n")  # as explainers.rows numbers them
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:
            errors.add(number, f"the line has {len(line):,} characters; a line may have at most {MAX_LINE_CHARS:,}")
            lines[number - 1] = ""  # not parsed; the numbering of the rest is kept
        elif "\0" in line:
            errors.add(number, "the line contains a NUL character (\\0), which cannot be stored; remove it")
            lines[number - 1] = ""
    rows = parse_rows("\n".join(lines), fmt="jsonl", what=what, max_depth=MAX_DEPTH)
    explanations: list[ImportedExplanation] = []
    first_line: dict[str, int] = {}
    named: set[str] = set()
    for row in rows.rows:
        if row.error:
            errors.add(row.line, row.error)
            continue
        try:
            explanation = _explanation(row.line, row.values)
        except _Bad as bad:
            errors.add(row.line, str(bad))
            pair_id = row.values.get(ID_KEY)
            if isinstance(pair_id, (str, int)) and not isinstance(pair_id, bool):
                named.add(str(pair_id))
            continue
        if explanation.id in first_line:
            errors.add(
                row.line,
                f"id {explanation.id!r} appears again (first on line {first_line[explanation.id]}); "
                "give each pair's explanation once",
            )
            continue
        first_line[explanation.id] = row.line
        explanations.append(explanation)
    return explanations, named


def _explanation(line: int, record: dict[str, Any]) -> ImportedExplanation:
    _check_values(record, "")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise _Bad(f"missing {', '.join(map(repr, missing))} (every line needs {', '.join(map(repr, REQUIRED_KEYS))})")
    unknown = [k for k in record if k not in (*REQUIRED_KEYS, *KEPT_KEYS, *IGNORED_KEYS)]
    if unknown:
        allowed = ", ".join(map(repr, (*REQUIRED_KEYS, *KEPT_KEYS, *IGNORED_KEYS)))
        raise _Bad(f"unknown key(s) {', '.join(map(repr, unknown))}; a line may hold {allowed}")
    words = _words(record["words"])
    pairs = _pairs(record["pairs"], len(words[0]), len(words[1]))
    similarity = record.get("similarity")
    if similarity is not None:
        similarity = _number(similarity, "'similarity'")
        if not -1 - SIMILARITY_TOLERANCE <= similarity <= 1 + SIMILARITY_TOLERANCE:
            raise _Bad(f"'similarity' is {similarity}; a cosine similarity lies in [-1, 1] (or leave it out)")
        similarity = min(max(similarity, -1.0), 1.0)
    model = record.get("model")
    if model is not None and (not isinstance(model, str) or len(model) > MAX_MODEL_CHARS):
        raise _Bad(f"'model' must be text of at most {MAX_MODEL_CHARS} characters")
    for key in ("model_info", "diagnostics"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            raise _Bad(f"{key!r} must be a JSON object")
    for key, kind, name in (
        ("method", str, "text"),
        ("truncated", bool, "true or false"),
        ("words_read", list, "a list"),
    ):
        if record.get(key) is not None and not isinstance(record[key], kind):
            raise _Bad(f"{key!r} must be {name} (it is ignored: {_IGNORED_WHY[key]})")
    return ImportedExplanation(
        line=line,
        id=_pair_id(record[ID_KEY]),
        words=words,
        pairs=pairs,
        similarity=similarity,
        model=model,
        model_info=record.get("model_info") or {},
        diagnostics=record.get("diagnostics") or {},
    )


_IGNORED_WHY = {
    "method": "the upload names the method",
    "truncated": "the round's model decides where a long paragraph is cut",
    "words_read": "the round's model decides where a long paragraph is cut",
}


def _check_values(value: Any, where: str) -> None:
    """No NUL, no lone surrogate and no non-finite number anywhere in a decoded line (a database
    refuses the first two; JSON has no NaN or infinity, and ``1e999`` decodes to infinity)."""
    if isinstance(value, str):
        if "\0" in value:
            raise _Bad(f"{where or 'a key'} contains a NUL character (\\u0000), which cannot be stored; remove it")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(f"{where or 'a key'} holds a lone surrogate (an unpaired \\ud800-\\udfff escape)") from None
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f"{where} is {value}; numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, f"a key in {where or 'the line'}")
            _check_values(item, f"{where}[{key!r}]" if where else repr(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{where}[{index}]")


def _pair_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Bad(f"'id' must be the pair's id as text (or an integer), got {_kind(value)}")
    text = str(value)
    if not text.strip() or len(text) > MAX_ID_CHARS:
        raise _Bad(f"'id' must be 1 to {MAX_ID_CHARS} characters, not blank")
    return text


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{where} must be a number, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise _Bad(f"{where} is too large; numbers must be finite") from None
    if not math.isfinite(number):
        raise _Bad(f"{where} is {value}; numbers must be finite")
    return number


def _index(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where} must be an integer, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _words(value: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(side, list) for side in value):
        raise _Bad("'words' must be two lists, paragraph a's words then paragraph b's")
    sides = []
    for side_name, side in zip("ab", value, strict=True):
        words: list[dict[str, Any]] = []
        for i, word in enumerate(side):
            where = f"paragraph {side_name} word {i}"
            if not isinstance(word, dict):
                raise _Bad(f"{where} must be an object {{'text', 'start', 'end', 'saliency'}}, got {_kind(word)}")
            if set(word) != set(WORD_KEYS):
                raise _Bad(f"{where} must have exactly the keys {', '.join(map(repr, WORD_KEYS))}, has {sorted(word)}")
            text = word["text"]
            if not isinstance(text, str) or not text:
                raise _Bad(f"{where}: 'text' must be non-empty text")
            start, end = _index(word["start"], f"{where} 'start'"), _index(word["end"], f"{where} 'end'")
            if start < 0 or end - start != len(text):
                raise _Bad(
                    f"{where} {text!r} has offsets [{start}, {end}); they must satisfy 0 <= start and "
                    f"end - start = {len(text)}, its length in characters"
                )
            if words and start < words[-1]["end"]:
                raise _Bad(
                    f"{where} {text!r} starts at {start}, before the previous word ends ({words[-1]['end']}); "
                    "words come in text order and do not overlap"
                )
            saliency = _number(word["saliency"], f"{where} 'saliency'")
            if not 0.0 <= saliency <= 1.0:
                raise _Bad(f"{where} {text!r} has saliency {saliency}; saliency lies in [0, 1] (min-max normalise it)")
            words.append({"text": text, "start": start, "end": end, "saliency": saliency})
        sides.append(words)
    return sides[0], sides[1]


def _pairs(value: Any, n_a: int, n_b: int) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _Bad(f"'pairs' must be a list of {{'a', 'b', 'word_similarity', 'score'}}, got {_kind(value)}")
    pairs: list[dict[str, Any]] = []
    seen: dict[tuple[int, int], int] = {}
    for k, pair in enumerate(value):
        where = f"pair {k}"
        if not isinstance(pair, dict) or set(pair) != set(PAIR_KEYS):
            keys = sorted(pair) if isinstance(pair, dict) else _kind(pair)
            raise _Bad(f"{where} must have exactly the keys {', '.join(map(repr, PAIR_KEYS))}, has {keys}")
        a, b = _index(pair["a"], f"{where} 'a'"), _index(pair["b"], f"{where} 'b'")
        if not 0 <= a < n_a:
            raise _Bad(f"{where}: 'a' = {a} is out of range; paragraph a has {n_a} words (indices 0 to {n_a - 1})")
        if not 0 <= b < n_b:
            raise _Bad(f"{where}: 'b' = {b} is out of range; paragraph b has {n_b} words (indices 0 to {n_b - 1})")
        if (a, b) in seen:
            raise _Bad(f"{where} repeats pair {seen[(a, b)]} (a = {a}, b = {b}); list each word pair once")
        seen[(a, b)] = k
        pairs.append(
            {
                "a": a,
                "b": b,
                "word_similarity": _number(pair["word_similarity"], f"{where} 'word_similarity'"),
                "score": _number(pair["score"], f"{where} 'score'"),
            }
        )
    return pairs


# ---------------------------------------------------------------------------------------------
# Against the pairs' texts


def check_pairs(
    explanations: Iterable[ImportedExplanation],
    texts: Mapping[str, tuple[str, str]],
    *,
    what: str = "the file",
    pairs_name: str = "the round",
) -> None:
    """Check explanations against the pairs' texts (``{id: (text_a, text_b)}``): each id names a
    pair, every pair has exactly one explanation, and each paragraph's words are exactly its words
    (offsets pointing at them, none missing; see the module docstring). Raises
    :class:`ImportFileError` listing every error."""
    errors = _Errors()
    _check_pairs(list(explanations), texts, pairs_name, errors)
    errors.raise_any(what)


def _check_pairs(
    explanations: list[ImportedExplanation],
    texts: Mapping[str, tuple[str, str]],
    pairs_name: str,
    errors: _Errors,
    *,
    named: set[str] = frozenset(),
) -> None:
    """``check_pairs`` into ``errors``; ``named``: ids of lines refused already (not missing)."""
    seen: set[str] = set()
    for explanation in explanations:
        pair = texts.get(explanation.id)
        if pair is None:
            errors.add(explanation.line, f"{pairs_name} has no pair with id {explanation.id!r}")
            continue
        seen.add(explanation.id)
        for side, (text, words) in zip("ab", zip(pair, explanation.words, strict=True), strict=True):
            problem = word_mismatch(text, words, side)
            if problem:
                errors.add(explanation.line, problem)
                break
    missing = [pair_id for pair_id in texts if pair_id not in seen and pair_id not in named]
    if missing:
        shown = ", ".join(map(repr, missing[:10])) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        errors.add(
            None,
            f"{len(missing)} pair{'s' if len(missing) != 1 else ''} of {pairs_name} "
            f"{'have' if len(missing) != 1 else 'has'} no explanation in the file: {shown}; "
            "every pair needs exactly one line",
        )


def word_mismatch(text: str, words: list[dict[str, Any]], side: str = "a") -> str:
    """Why ``words`` are not exactly the words of ``text`` ("" when they are): a word whose offsets
    do not point at it in the text first, else the first difference from the paragraph's split
    (``explainers.words.WORD_RE``, the split of every computed method)."""
    for i, word in enumerate(words):
        start, end = word["start"], word["end"]
        if end > len(text):
            return (
                f"paragraph {side} word {i} {word['text']!r} ends at {end}, past the paragraph's "
                f"{len(text)} characters (offsets are character offsets into the pair's text, "
                "Python str indices, not bytes)"
            )
        if text[start:end] != word["text"]:
            return (
                f"paragraph {side} word {i} {word['text']!r} at [{start}, {end}) does not match the pair's text there "
                f"({text[start:end]!r}); offsets are character offsets into the pair's text (Python str indices, "
                "not bytes or tokens)"
            )
    expected = [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]
    for i, (got, want) in enumerate(zip(words, expected, strict=False)):
        if (got["text"], got["start"], got["end"]) != want:
            return (
                f"paragraph {side} word {i} is {got['text']!r} at [{got['start']}, {got['end']}), but the "
                f"paragraph's word {i} is {want[0]!r} at [{want[1]}, {want[2]}); give every word of the paragraph "
                "as explainers.words.split_words splits it (letters and digits with inner - or ', every other "
                "character a word of its own)"
            )
    if len(words) < len(expected):
        text_i, start, end = expected[len(words)]
        return (
            f"paragraph {side} has {len(words)} words, the paragraph {len(expected)}: word {len(words)} "
            f"{text_i!r} at [{start}, {end}) is missing; give every word of the paragraph (saliency 0 for the "
            "ones the method does not highlight)"
        )
    if len(words) > len(expected):
        return f"paragraph {side} has {len(words)} words, but the paragraph has only {len(expected)}"
    return ""


# ---------------------------------------------------------------------------------------------
# The method's name


def check_name(name: Any, *, taken: Collection[str] = ()) -> str:
    """``name`` when it is a safe method name (``NAME_RULE``) and not one of ``taken`` (the
    registry's methods: built-ins and plugins); else an :class:`InputError` saying why."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("give the imported method a name")
    name = name.strip()
    if name.lower() != name and NAME_RE.fullmatch(name.lower()):
        raise InputError(f"method name {name!r}: use lower case ({name.lower()!r})")
    if not (2 <= len(name) <= NAME_MAX_CHARS and NAME_RE.fullmatch(name)):
        raise InputError(f"method name {name!r} is not allowed: use {NAME_RULE}")
    if name in taken:
        raise InputError(
            f"method name {name!r} is the name of a method the platform computes (built-in or plugin); "
            "an imported method needs a name of its own"
        )
    return name
