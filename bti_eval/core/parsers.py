"""The API's JSON parser: DRF's, with limits a hostile body cannot turn into a 500.

``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]`` names it, and views that choose their parsers list it
instead of DRF's. A body nested deeper than ``MAX_JSON_DEPTH`` levels, or holding an integer longer
than Python's int-string limit, is a 400 that says so (``explainers.safejson``), before the decoder
could recurse into a ``RecursionError``.
"""

from __future__ import annotations

import codecs

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from explainers import safejson

MAX_JSON_DEPTH = safejson.MAX_DEPTH


class JSONParser(parsers.JSONParser):
    """``application/json`` bodies, parsed by :func:`explainers.safejson.loads`."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            parse_constant = drf_json.strict_constant if self.strict else None
            return safejson.loads(text, max_depth=MAX_JSON_DEPTH, parse_constant=parse_constant)
        except safejson.JSONLimitError as exc:
            raise ParseError(f"The JSON body was refused: {exc}.") from None
        except ValueError as exc:  # malformed JSON or text that is not in the body's encoding
            raise ParseError(f"JSON parse error - {exc}") from None
