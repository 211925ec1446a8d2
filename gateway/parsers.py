"""The JSON request parser, with nesting beyond the decoder's reach answered as a 400.

Python's JSON decoder recurses per nesting level; a body nested a few thousand levels deep makes
it raise ``RecursionError``, which DRF's parser does not catch (it expects ``ValueError``), so
the client got a 500. Anything that deep is malformed for this API.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
