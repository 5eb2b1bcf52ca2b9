"""Canonical JSON: the one byte form of a value that the audit chain hashes and signs.

The rules, so that anyone can recompute a hash with any JSON library:

- UTF-8, with no byte-order mark; characters beyond ASCII are written as themselves, not
  escaped. Only ``"``, ``\\`` and the control characters U+0000 to U+001F are escaped
  (``\\n``, ``\\t``, ``\\"``, ``\\\\``, ``\\b``, ``\\f``, ``\\r``, else ``\\u00XX``).
- No whitespace between tokens: ``{"a":1,"b":[true,null]}``.
- Object keys are strings, sorted by Unicode code point (the byte order of their UTF-8);
  nested objects too. Arrays keep their order.
- Integers in decimal, within 64 bits. Floats in the shortest form that reads back as the
  same double (``0.1``, ``1.0``, ``1e-7``, ``1e+20``); NaN and infinities (JSON has neither)
  are written as ``null``.
- Only JSON's types: objects, arrays, strings, numbers, true, false, null. keel builds records
  from those alone; a datetime, a dataclass or a subclass of str, int, dict or list is refused
  (TypeError) rather than given a form of orjson's choosing.

This is orjson with sorted keys; it is not RFC 8785 (JCS), which sorts by UTF-16 code units and
writes numbers differently.
"""

from __future__ import annotations

import hashlib

import orjson

__all__ = ["canonical", "sha256_hex"]

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def canonical(value: object) -> bytes:
    """The canonical JSON bytes of ``value``; TypeError for what JSON cannot hold."""
    return orjson.dumps(value, option=_OPTIONS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
