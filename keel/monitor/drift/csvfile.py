"""Read a CSV file into columns, fast: a window of 30 columns x 5,000 rows in a few
milliseconds, where the ``csv`` module and ``float()`` per field take 50 ms here.

The whole body is split on its delimiters at once (numpy over the bytes), and each column's
fields are parsed as numbers together: a leading minus, digits, one point, exactly as
``float()`` would for up to 15 digits (then the digits, as an integer, and the power of
ten are both exact, so the one division rounds correctly: Clinger's fast path). A field
outside that path (an exponent, more digits, ``nan``) is handed to ``float()``; a column
with a field that is no number at all comes back as bytes (``S`` array) for the caller to
treat as categorical. An empty field is missing (NaN).

A file with a quote character anywhere is read with the ``csv`` module instead (quoted
fields may hold commas and newlines), as is one whose rows do not all have the header's
number of fields (so the error names the line).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from keel.monitor.drift.ranks import Floats

__all__ = ["read_columns"]

_COMMA, _NEWLINE, _DOT, _PLUS, _MINUS = 44, 10, 46, 43, 45
Bytes = np.ndarray[Any, np.dtype[np.uint8]]
Ints = np.ndarray[Any, np.dtype[np.int64]]


def read_columns(path: Path, text: frozenset[str] = frozenset()) -> dict[str, np.ndarray[Any, Any]]:
    """``{name: floats or bytes}`` in the file's column order, rows in file order; the
    columns named in ``text`` always as bytes (a categorical feature's levels "1" and "2"
    must not come back as the numbers 1.0 and 2.0)."""
    raw = path.read_bytes()
    if b'"' in raw:
        return _by_csv_module(raw, path, text)
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    raw = raw.rstrip(b"\n") + b"\n"
    newline = raw.index(b"\n")
    header = raw[:newline].decode("utf-8-sig").split(",")
    if header == [""]:
        raise ValueError(f"{path}: empty, or no header row")
    body = np.frombuffer(raw, dtype=np.uint8, offset=newline + 1)
    k = len(header)
    ends = np.flatnonzero((body == _COMMA) | (body == _NEWLINE))
    if ends.size % k or not _rows_line_up(body, ends, k):
        return _by_csv_module(raw, path, text)
    starts = np.concatenate(([0], ends[:-1] + 1)).reshape(-1, k)
    lengths = (ends.reshape(-1, k) - starts).astype(np.int64)
    return {
        name: _column(body, starts[:, j], lengths[:, j], name in text)
        for j, name in enumerate(header)
    }


def _rows_line_up(body: Bytes, ends: Ints, k: int) -> bool:
    """Every k-th delimiter a newline and no other one."""
    is_newline = body[ends] == _NEWLINE
    return bool(is_newline[k - 1 :: k].all()) and int(is_newline.sum()) == ends.size // k


def _column(body: Bytes, starts: Ints, lengths: Ints, text: bool) -> np.ndarray[Any, Any]:
    width = int(lengths.max()) if lengths.size else 0
    if width == 0:
        return np.full(lengths.size, b"", dtype="S1") if text else np.full(lengths.size, np.nan)
    # One row per character position, one column per field: the reductions over a field's
    # characters run along axis 0, a few vector operations, not one short loop per field.
    offsets = np.arange(width)[:, None]
    inside = offsets < lengths
    index = np.minimum(starts + offsets, body.size - 1)
    chars = np.where(inside, body[index], 0).astype(np.uint8)
    numbers = None if text else _numbers(chars, inside, lengths)
    if numbers is not None:
        return numbers
    return _fields(chars)


def _fields(chars: Bytes) -> np.ndarray[Any, Any]:
    """The fields as a bytes (``S``) array."""
    return np.ascontiguousarray(chars.T).view(f"S{chars.shape[0]}").ravel()


_POW10 = 10.0 ** np.arange(23)
# Each byte's kind, as bits: the characters a number may hold; any other (letters of
# nan/inf/NA, spaces) and the column goes to float(). 0 is the padding after a field.
_PAD, _DIGIT, _POINT, _EXPONENT, _SIGN, _OTHER = 0, 1, 2, 4, 8, 16
_KIND = np.full(256, _OTHER, dtype=np.uint8)
_KIND[0] = _PAD
_KIND[48:58] = _DIGIT
_KIND[_DOT] = _POINT
_KIND[[101, 69]] = _EXPONENT
_KIND[[_PLUS, _MINUS]] = _SIGN


def _numbers(chars: Bytes, inside: Any, lengths: Ints) -> Floats | None:
    """The fields as floats, or None if one is not a number. Horner's rule down the
    character positions; a field with an exponent, a plus sign, a minus sign not in
    front, a second point or over 15 digits is left to ``float()``."""
    kinds = _KIND[chars]
    if (kinds == _OTHER).any():
        return _by_float(chars)
    width, n = chars.shape
    is_digit = kinds == _DIGIT
    values = chars.astype(np.float64) - 48.0
    mant = np.zeros(n)
    for p in range(width):
        mant = np.where(is_digit[p], mant * 10.0 + values[p], mant)
    is_dot = kinds == _POINT
    dots = is_dot.sum(axis=0)
    fraction = np.where(dots > 0, lengths - 1 - is_dot.argmax(axis=0), 0)
    odd = np.bitwise_or.reduce(kinds[1:], axis=0) & (_EXPONENT | _SIGN) if width > 1 else 0
    slow = (odd > 0) | (kinds[0] == _EXPONENT) | (dots > 1) | (lengths > 16)
    slow |= (lengths > 0) & (lengths == dots + (kinds[0] == _SIGN))  # no digit: "-", "."
    unsigned = mant / _POW10[np.clip(fraction, 0, 22)]
    out: Floats = np.where(chars[0] == _MINUS, -unsigned, unsigned)
    out[lengths == 0] = np.nan
    if slow.any():
        rows = np.flatnonzero(slow)
        try:
            out[rows] = [float(f) for f in _fields(chars[:, rows])]
        except ValueError:
            return None
    return out


def _by_float(chars: Bytes) -> Floats | None:
    """Fields with characters the fast path does not take (``nan``, ``inf``, spaces):
    ``float()`` each, None at the first that is not a number."""
    fields = _fields(chars)
    try:
        return np.asarray([float(f) if f else np.nan for f in fields], dtype=np.float64)
    except ValueError:
        return None


def _by_csv_module(raw: bytes, path: Path, text: frozenset[str]) -> dict[str, np.ndarray[Any, Any]]:
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    header = next(reader, None)
    if not header:
        raise ValueError(f"{path}: empty, or no header row")
    columns: list[list[str]] = [[] for _ in header]
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(row)} fields, the header has {len(header)}"
            )
        for values, value in zip(columns, row, strict=True):
            values.append(value)
    return {
        name: _parsed(values, name in text) for name, values in zip(header, columns, strict=True)
    }


def _parsed(values: list[str], text: bool) -> np.ndarray[Any, Any]:
    if not text:
        try:
            return np.asarray([float(v) if v else np.nan for v in values], dtype=np.float64)
        except ValueError:
            pass
    return np.asarray(values, dtype=object)
