"""``json.loads`` with limits that hostile input cannot get past as a crash.

Python's decoder recurses once per nesting level, so ``[[[[...]]]]`` a thousand levels deep raises
``RecursionError`` (not a ``ValueError``), and an integer of more than ``sys.get_int_max_str_digits()``
digits (4,300 by default) raises a ``ValueError`` that tells the user to call a Python function.
:func:`loads` refuses both up front with a :class:`JSONLimitError` that says what the limit is:

- nesting: the brackets outside strings are counted before decoding, without recursion, so the
  check costs a ``str.count`` for ordinary documents (fewer brackets than the limit cannot nest
  deeper than it) and two regular-expression passes otherwise;
- integers: ``parse_int`` refuses a literal longer than the limit before converting it.

Every real document here (a pair line, a rating, a round) nests a few levels; 64 is far above that.
"""

from __future__ import annotations

import json
import re
import sys
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64
# A JSON string (escapes included), and anything that is not a bracket once strings are gone.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONLimitError(ValueError):
    """The document is valid JSON (or may be) but exceeds a limit; ``str()`` says which and how."""


def nesting_exceeds(text: str, limit: int) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``limit`` levels (brackets inside JSON
    strings do not count). No recursion, and it stops at the first bracket too deep."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub('""', text))
    return any(depth > limit for depth in accumulate(map(_STEP.__getitem__, brackets)))


def _bounded_int(digits: str) -> int:
    limit = sys.get_int_max_str_digits()
    if limit and len(digits.lstrip("-")) > limit:
        raise JSONLimitError(f"a number has {len(digits.lstrip('-')):,} digits; numbers may have at most {limit:,}")
    return int(digits)


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads(text, **kwargs)``, but a document nested deeper than ``max_depth`` or holding an
    integer longer than Python's int-string limit is a :class:`JSONLimitError`. Malformed JSON is
    ``json.JSONDecodeError`` as usual (both are ``ValueError``)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8-sig")
    if nesting_exceeds(text, max_depth):
        raise JSONLimitError(f"it is nested deeper than {max_depth} levels (arrays or objects inside each other)")
    kwargs.setdefault("parse_int", _bounded_int)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:  # unreachable below max_depth; kept so that a change of limit cannot crash
        raise JSONLimitError(f"it is nested deeper than {max_depth} levels") from None
